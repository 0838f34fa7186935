export { AnalyticsDashboard } from "./ui";
