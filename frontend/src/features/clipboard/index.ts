export { copyNodes, pasteNodes } from "./model/actions";
export {
  CLIPBOARD_KEY,
  copiedMessage,
  isClipboard,
  parseClipboard,
  toClipboard,
  type Clipboard,
} from "./model/clipboard";
