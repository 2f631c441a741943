// A graphql-inspector diff rule (--rule): a breaking change that the
// CHANGELOG declares is reported as dangerous instead, so that only the
// undeclared ones fail the check. The declarations are the lines of the
// file named by DECLARED_CHANGES (the CHANGELOG's Unreleased section,
// written by api/check-breaking.sh): a change is declared by a line that
// holds its message, compared without quotes or backticks and ignoring
// case, e.g. "- Field `name` was removed from object type `Factory`: …".
'use strict';
const fs = require('fs');

const norm = (s) => s.replace(/[`'"]/g, '').replace(/\s+/g, ' ').trim().toLowerCase();

module.exports = ({ changes }) => {
  const file = process.env.DECLARED_CHANGES;
  const lines = file ? fs.readFileSync(file, 'utf8').split('\n').map(norm).filter(Boolean) : [];
  return changes.map((change) => {
    if (change.criticality.level !== 'BREAKING') return change;
    const message = norm(change.message);
    if (!lines.some((line) => line.includes(message))) return change;
    return { ...change, criticality: { ...change.criticality, level: 'DANGEROUS', reason: 'declared in CHANGELOG.md' } };
  });
};
