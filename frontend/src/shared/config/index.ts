export { landingPath } from "./roles";
