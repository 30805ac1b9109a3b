#!/usr/bin/env node
'use strict';
require('./run-alias.js')('train-meta');
