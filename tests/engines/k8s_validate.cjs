// k8s_validate.cjs — validates Kubernetes objects against the API's schemas offline, with the
// npm package kubernetes-models (generated from the Kubernetes OpenAPI; ci/install-deps.sh puts
// it in build/k8s-validator/). Usage: node k8s_validate.cjs VALIDATOR_DIR < DOCUMENTS.json
// (a JSON array of objects, as tests/engines/test_k8s_job.py reads them from the YAML).
// Prints one line per object, "ok N KIND NAME" or "invalid N KIND: why"; exit 0 all valid,
// 1 one or more invalid, 2 usage or no model for an object's apiVersion and kind.
"use strict";
const fs = require("fs");
const path = require("path");
const { createRequire } = require("module");

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node k8s_validate.cjs VALIDATOR_DIR < DOCUMENTS.json");
  process.exit(2);
}
const need = createRequire(path.resolve(dir, "package.json"));
const version = need("kubernetes-models/package.json").version;
console.log("validator: kubernetes-models " + version);
const docs = JSON.parse(fs.readFileSync(0, "utf8"));
let invalid = 0;
docs.forEach((doc, i) => {
  const kind = String(doc.kind), api = String(doc.apiVersion);
  let Model;
  try {
    // kubernetes-models lays its models out as apiVersion/Kind: v1/PersistentVolumeClaim, batch/v1/Job
    Model = need("kubernetes-models/" + api + "/" + kind)[kind];
  } catch (e) {
    console.log("unknown " + i + " " + api + " " + kind + ": no model (" + e.code + ")");
    process.exit(2);
  }
  try {
    new Model(doc).validate();
    console.log("ok " + i + " " + kind + " " + (doc.metadata || {}).name);
  } catch (e) {
    invalid++;
    console.log("invalid " + i + " " + kind + ": " + String(e.message).replace(/\s+/g, " "));
  }
});
process.exit(invalid ? 1 : 0);
