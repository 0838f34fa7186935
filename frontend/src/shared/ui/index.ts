export { Button, type ButtonProps } from "./button";
export { Spinner } from "./spinner";
export { Checkbox, Field, Input, Select, Textarea } from "./form";
export { Badge, EmptyState, ErrorState, Kbd, LoadingState, PageHeader } from "./states";
export { Dialog } from "./dialog";
export { toast, Toaster } from "./toast";
export { Pagination } from "./pagination";
export { Table, Td, Th } from "./table";
export { CursorPagination } from "./cursor-pagination";
