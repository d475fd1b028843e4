// @ts-check
import tseslint from 'typescript-eslint';

const editorApis = {
  paths: [
    { name: 'vscode', message: 'The core (analysis, refactor, cli) is editor-free: take text, return plain data.' },
    { name: 'vscode-languageserver', message: 'The core is editor-free: only src/server may use the LSP library.' },
    { name: 'vscode-languageclient', message: 'The core is editor-free: only src/extension may use the LSP client.' },
  ],
  patterns: [{ group: ['vscode-languageserver/*', 'vscode-languageclient/*'], message: 'The core is editor-free.' }],
};

export default tseslint.config(
  {
    ignores: ['dist/**', 'node_modules/**', 'bench/**', 'test/e2e/**', 'test/fixtures/**', 'examples/**', 'bin/**', '**/*.mjs', '**/*.js'],
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // a file to hold in one's head: split one that grows past this (a warning, not an error)
      'max-lines': ['warn', { max: 600, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    files: ['src/analysis/**/*.ts', 'src/refactor/**/*.ts', 'src/cli/**/*.ts', 'src/weights/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', editorApis] },
  },
);
