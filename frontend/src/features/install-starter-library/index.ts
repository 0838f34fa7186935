export { InstallReportPanel, InstallStarterLibraryButton, summary } from "./ui";
export { useInstallStarterLibrary, type InstallReport } from "./api";
