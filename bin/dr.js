#!/usr/bin/env node
// npm bin entry: runs the TypeScript CLI through tsx's require hook.
require('tsx/cjs/api').register();
require('./dr.ts');
