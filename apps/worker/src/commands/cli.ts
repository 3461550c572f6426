#!/usr/bin/env -S node --import tsx
// Entry of `pnpm mailstate <command>` (start-cli.ts). This file only holds the #! line: tsx cannot
// read a dynamic import() in a file that starts with one.
import "./start-cli.ts";
