//! scapi's JSON outputs conform to the JSON Schemas it publishes in
//! `grammar/` (and prints with `scapi schema`): every compiled policy and
//! every lint report the other harnesses produce is validated.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use scapi_policy::compiled::CompiledPolicy;
use scapi_testkit::{cases, root};
use serde_json::Value;

/// A validator for one of the published schemas.
struct Validator {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

impl Validator {
    fn new(text: &str) -> Validator {
        let schema: Value = serde_json::from_str(text).unwrap();
        let id = schema["$id"].as_str().unwrap().to_string();
        let mut compiler = boon::Compiler::new();
        compiler.add_resource(&id, schema).unwrap();
        let mut schemas = boon::Schemas::new();
        let index = compiler.compile(&id, &mut schemas).unwrap();
        Validator { schemas, index }
    }

    fn check(&self, what: &str, doc: &Value) {
        if let Err(e) = self.schemas.validate(doc, self.index) {
            panic!("{what} does not match its schema:\n{e:#}");
        }
    }
}

#[test]
fn compiled_policies_match_the_schema() {
    let v = Validator::new(scapi::schema::COMPILED);
    let mut n = 0;
    for file in [
        "wwews-cluster.cfg",
        "wwews-cluster.json",
        "wwews-cluster.yaml",
    ] {
        let c = scapi::compile(
            file,
            &std::fs::read(root().join("examples").join(file)).unwrap(),
            &scapi::Options::default(),
        );
        let doc: Value =
            serde_json::from_str(&CompiledPolicy::from(&c.policy.unwrap()).to_json()).unwrap();
        v.check(file, &doc);
        n += 1;
    }
    for dir in cases("lint") {
        let path = dir.join("compiled.json");
        if let Ok(text) = std::fs::read_to_string(&path) {
            v.check(
                &path.display().to_string(),
                &serde_json::from_str(&text).unwrap(),
            );
            n += 1;
        }
    }
    assert!(n > 5, "only {n} compiled policies checked");
}

#[test]
fn lint_reports_match_the_schema() {
    let v = Validator::new(scapi::schema::DIAGNOSTICS);
    let mut n = 0;
    for dir in cases("lint") {
        let path = dir.join("expected.json");
        v.check(
            &path.display().to_string(),
            &serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap(),
        );
        n += 1;
    }
    let cli = root().join("tests/cases/cli/lint-broken-json/stdout");
    v.check(
        "lint-broken-json",
        &serde_json::from_str(&std::fs::read_to_string(cli).unwrap()).unwrap(),
    );
    assert!(n > 10);
}

#[test]
fn eval_reports_and_requests_match_their_schemas() {
    let report = Validator::new(scapi::schema::EVAL);
    let requests = Validator::new(scapi::schema::REQUESTS);
    let mut n = 0;
    for dir in cases("eval") {
        let out = dir.join("expected.json");
        report.check(
            &out.display().to_string(),
            &serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap(),
        );
        let input = scapi_testkit::find_input(&dir, "requests").unwrap();
        let text = std::fs::read_to_string(&input).unwrap();
        let name = input.to_str().unwrap();
        let items: Value = match scapi_tools::eval::RequestsFormat::detect(name, text.as_bytes()) {
            scapi_tools::eval::RequestsFormat::Json => serde_json::from_str(&text).unwrap(),
            scapi_tools::eval::RequestsFormat::JsonLines => Value::Array(
                text.lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| serde_json::from_str(l).unwrap())
                    .collect(),
            ),
            scapi_tools::eval::RequestsFormat::Yaml => match serde_yaml_ng::from_str(&text) {
                Ok(items) => items,
                // Its aliases expand to 10^13 values: no reader that copies
                // them (as `serde_yaml_ng` does) can hold it; eval reads
                // only the keys. Its report is checked above.
                Err(e) if dir.ends_with("yaml-alias-bomb-in-user-data") => {
                    assert!(e.to_string().contains("repetition limit"), "{e}");
                    continue;
                }
                Err(e) => panic!("{name}: {e}"),
            },
        };
        requests.check(name, &items);
        n += 1;
    }
    assert!(n >= 10, "only {n} eval cases");
}

#[test]
fn diff_reports_match_the_schema() {
    let v = Validator::new(scapi::schema::DIFF);
    let mut n = 0;
    for dir in cases("diff") {
        let out = dir.join("expected.json");
        v.check(
            &out.display().to_string(),
            &serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap(),
        );
        n += 1;
    }
    assert!(n >= 8);
}

/// SARIF output validates against the official SARIF 2.1.0 schema, vendored
/// in `tests/schemas/` (see its `NOTICE.md`).
#[test]
fn sarif_output_matches_the_official_schema() {
    let path = root().join("tests/schemas/sarif-schema-2.1.0.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema: Value = serde_json::from_str(&text).unwrap();
    let id = schema["$id"].as_str().unwrap().to_string();
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    compiler.add_resource(&id, schema).unwrap();
    let mut schemas = boon::Schemas::new();
    let index = compiler.compile(&id, &mut schemas).unwrap();
    let mut n = 0;
    for (dir, stdout) in cli_outputs("--format sarif") {
        let out: Value = serde_json::from_str(&stdout).unwrap();
        if let Err(e) = schemas.validate(&out, index) {
            panic!("{}: SARIF does not match the schema:\n{e:#}", dir.display());
        }
        let run = &out["runs"][0];
        for r in run["results"].as_array().unwrap() {
            let i = r["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(
                run["tool"]["driver"]["rules"][i]["id"],
                r["ruleId"],
                "{}: ruleIndex",
                dir.display()
            );
        }
        n += 1;
    }
    assert!(n >= 3, "only {n} SARIF outputs checked");
}

/// The schemas reject what they should: a guard against a schema so loose
/// that the tests above could never fail.
#[test]
fn schemas_reject_wrong_documents() {
    let v = Validator::new(scapi::schema::COMPILED);
    let c = scapi::compile(
        "x.cfg",
        b"service-client-api.accepted-web-content-origins=https://a.example\n",
        &scapi::Options::default(),
    );
    let good: Value =
        serde_json::from_str(&CompiledPolicy::from(&c.policy.unwrap()).to_json()).unwrap();
    v.check("minimal", &good);
    for (path, bad) in [
        ("/schemaVersion", Value::from(2)),
        ("/origins/0/origin", Value::from("https://a.example/")),
        ("/rateLimit/quarantineSeconds", Value::from(0)),
        ("/userData/read", Value::from("all")),
    ] {
        let mut doc = good.clone();
        *doc.pointer_mut(path).unwrap() = bad;
        assert!(
            v.schemas.validate(&doc, v.index).is_err(),
            "{path} was accepted"
        );
    }
}

/// The outputs of `tests/cases/cli/` whose command has `flag` (not those
/// refused as a usage error, which print nothing).
fn cli_outputs(flag: &str) -> Vec<(std::path::PathBuf, String)> {
    cases("cli")
        .into_iter()
        .filter(|dir| {
            let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
            read("cmd").contains(flag) && read("status").trim() != "2"
        })
        .map(|dir| {
            let out = std::fs::read_to_string(dir.join("stdout")).unwrap();
            (dir, out)
        })
        .collect()
}

/// JUnit reports conform to Jenkins' `junit-10.xsd` (vendored in
/// `tests/schemas/`), checked by libxml2's `xmllint` (`.ci/run` installs
/// it).
#[test]
fn junit_output_matches_the_jenkins_schema() {
    if !scapi_testkit::tools::have("xmllint", "libxml2-utils") {
        return;
    }
    let xsd = root().join("tests/schemas/junit-10.xsd");
    let mut n = 0;
    for (dir, out) in cli_outputs("--format junit") {
        let file = std::env::temp_dir().join(format!("scapi-junit-{}-{n}.xml", std::process::id()));
        std::fs::write(&file, &out).unwrap();
        let check = std::process::Command::new("xmllint")
            .arg("--noout")
            .arg("--schema")
            .arg(&xsd)
            .arg(&file)
            .output()
            .expect("xmllint runs (`.ci/run` installs libxml2-utils)");
        let _ = std::fs::remove_file(&file);
        assert!(
            check.status.success(),
            "{}: not valid JUnit XML:\n{}",
            dir.display(),
            String::from_utf8_lossy(&check.stderr)
        );
        n += 1;
    }
    assert!(n >= 2, "only {n} JUnit outputs checked");
}

/// GitLab Code Quality reports conform to the format GitLab documents
/// (`tests/schemas/gitlab-codequality.schema.json`); fingerprints are
/// unique within a report.
#[test]
fn gitlab_output_matches_the_code_quality_format() {
    let v = Validator::new(
        &std::fs::read_to_string(root().join("tests/schemas/gitlab-codequality.schema.json"))
            .unwrap(),
    );
    let mut n = 0;
    for (dir, out) in cli_outputs("--format gitlab") {
        let doc: Value = serde_json::from_str(&out).unwrap();
        v.check(&dir.display().to_string(), &doc);
        let prints: std::collections::BTreeSet<_> = doc
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["fingerprint"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            prints.len(),
            doc.as_array().unwrap().len(),
            "{}",
            dir.display()
        );
        n += 1;
    }
    assert!(n >= 1, "no GitLab output checked");
    assert!(
        v.schemas
            .validate(&serde_json::json!([{"description": "x"}]), v.index)
            .is_err()
    );
}

/// Baselines conform to `grammar/baseline.schema.json`: those `lint
/// --write-baseline` wrote in the CLI cases, and one of every lint case.
#[test]
fn baselines_match_the_schema() {
    let v = Validator::new(scapi::schema::BASELINE);
    let mut n = 0;
    for dir in cases("cli") {
        let cmd = std::fs::read_to_string(dir.join("cmd")).unwrap();
        let Ok(listing) = std::fs::read_to_string(dir.join("tmp.txt")) else {
            continue;
        };
        if !cmd.contains("--write-baseline") {
            continue;
        }
        for part in listing
            .split("=== ")
            .filter(|p| p.starts_with("baseline.json\n"))
        {
            let doc: Value = serde_json::from_str(&part["baseline.json\n".len()..]).unwrap();
            v.check(&dir.display().to_string(), &doc);
            n += 1;
        }
    }
    for dir in cases("lint") {
        let input = scapi_testkit::lint_input(&dir);
        let name = input.file_name().unwrap().to_str().unwrap().to_string();
        let c = scapi::compile(
            &name,
            &std::fs::read(&input).unwrap(),
            &scapi_testkit::options(&dir),
        );
        let b =
            scapi::baseline::Baseline::of([(name.as_str(), &c.source, c.diagnostics.as_slice())]);
        v.check(
            &dir.display().to_string(),
            &serde_json::from_str(&b.to_json()).unwrap(),
        );
        n += 1;
    }
    assert!(n > 10, "only {n} baselines checked");
}

/// Signatures and key files conform to `grammar/signature.schema.json`:
/// every `.sig`, `.pub` and `.key` file of the CLI cases.
#[test]
fn signatures_and_keys_match_the_schema() {
    let v = Validator::new(scapi::schema::SIGNATURE);
    let mut n = 0;
    let mut stack: Vec<std::path::PathBuf> = cases("cli");
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .extension()
                .is_some_and(|x| x == "sig" || x == "pub" || x == "key")
                && !p.to_string_lossy().contains("malformed")
            {
                let doc: Value =
                    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
                v.check(&p.display().to_string(), &doc);
                n += 1;
            }
        }
    }
    assert!(n >= 5, "only {n} signature and key files");
}

/// Decision logs conform, line by line, to
/// `grammar/decision-log.schema.json`: those the CLI cases wrote.
#[test]
fn decision_logs_match_the_schema() {
    let v = Validator::new(scapi::schema::DECISION_LOG);
    let mut n = 0;
    for dir in cases("cli") {
        let Ok(listing) = std::fs::read_to_string(dir.join("tmp.txt")) else {
            continue;
        };
        for part in listing
            .split("=== ")
            .filter(|p| p.starts_with("decisions.jsonl\n"))
        {
            for line in part.lines().skip(1) {
                let doc: Value = serde_json::from_str(line).unwrap();
                v.check(&dir.display().to_string(), &doc);
                n += 1;
            }
        }
    }
    assert!(n >= 5, "only {n} decision log lines");
}
