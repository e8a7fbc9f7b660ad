// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // The protocol core is pure: no I/O, no clock, nothing of the rest of the project.
    files: ['src/protocol/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'src/protocol is pure: no Node.js modules.' },
            { group: ['../*', '!./*'], message: 'src/protocol imports nothing of the rest of the project.' },
          ],
          paths: ['fs', 'path', 'os', 'net', 'http', 'https', 'child_process', 'crypto', 'process'].map(
            (name) => ({
              name,
              message: 'src/protocol is pure: no I/O.',
            }),
          ),
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'src/protocol is pure.' },
        { name: 'setTimeout', message: 'Timers are effects returned as data.' },
        { name: 'setInterval', message: 'Timers are effects returned as data.' },
        { name: 'fetch', message: 'src/protocol is pure: no I/O.' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Time is an argument (context.now).' },
        { object: 'Math', property: 'random', message: 'decide() is deterministic.' },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
