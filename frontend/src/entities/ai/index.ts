export { aiKeys, useAiEnabled, useAiStatus, type AiStatus } from "./api";
