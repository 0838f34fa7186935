// Test-only public API: fixtures for the tests of the slices above.
export { graphOf, port, testLookup, testTemplates } from "./model/fixtures";
