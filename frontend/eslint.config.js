import js from "@eslint/js";
import globals from "globals";
import reactHooks from "eslint-plugin-react-hooks";
import reactRefresh from "eslint-plugin-react-refresh";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist", "node_modules", "src/shared/api/schema.d.ts", "e2e/screenshots"] },
  {
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    files: ["**/*.{ts,tsx,js,mjs}"],
    languageOptions: { ecmaVersion: 2022, globals: { ...globals.browser, ...globals.node } },
    plugins: { "react-hooks": reactHooks, "react-refresh": reactRefresh },
    rules: {
      "react-hooks/rules-of-hooks": "error",
      "react-hooks/exhaustive-deps": "warn",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      // Feature-Sliced Design: a layer imports only from the layers below it.
      "no-restricted-imports": "off",
    },
  },
  ...fsdBoundaries(),
);

function fsdBoundaries() {
  const layers = ["shared", "entities", "features", "widgets", "pages", "app"];
  return layers.map((layer, i) => ({
    files: [`src/${layer}/**/*.{ts,tsx}`],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: layers.slice(i + 1).map((upper) => ({
            group: [`@/${upper}/*`, `@/${upper}`],
            message: `${layer} must not import from ${upper} (Feature-Sliced Design)`,
          })),
        },
      ],
    },
  }));
}
