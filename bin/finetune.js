#!/usr/bin/env node
'use strict';
require('./run-alias.js')('finetune');
