export { ChatPanel } from "./ui/chat-panel";
export { pageContext, type PageContext } from "./model/context";
