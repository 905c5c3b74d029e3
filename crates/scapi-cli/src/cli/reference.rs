//! Small reference commands: `requests`, `rule`, `schema`.

use super::{CliError, Exit, print_stdout};
use clap::ValueEnum;
use scapi::front::RuleJson;
use scapi::rules::Code;
use scapi_policy::catalog::REQUESTS;
use serde::Serialize;

#[derive(Debug, clap::Args)]
pub struct RequestsArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = TableFormat::Human)]
    format: TableFormat,
}

#[derive(Debug, clap::Args)]
pub struct RuleArgs {
    /// A rule code (`SC0103`) or name (`origin-has-path`); without it, every rule is listed.
    #[arg(value_name = "CODE")]
    code: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TableFormat::Human)]
    format: TableFormat,
}

#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    /// Which document.
    #[arg(value_enum)]
    which: SchemaKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TableFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SchemaKind {
    /// The compiled policy (`scapi compile`).
    Compiled,
    /// The lint report (`scapi lint --format json`).
    Diagnostics,
    /// The eval report (`scapi eval --format json`).
    Eval,
    /// The requests file `scapi eval` reads.
    Requests,
    /// The diff report (`scapi diff --format json`).
    Diff,
    /// A baseline (`scapi lint --write-baseline`).
    Baseline,
    /// A policy's signature and the key files (`scapi sign`, `scapi keygen`).
    Signature,
    /// A line of a decision log (`scapi eval --decision-log`).
    DecisionLog,
    /// The requests and answers of `scapi serve`.
    Serve,
}

fn emit(text: &str) -> Exit {
    match print_stdout(text) {
        Ok(()) => Exit::Success,
        Err(e) => e.report(),
    }
}

fn to_json<T: Serialize>(value: &T) -> String {
    scapi_policy::jsonfmt::to_string(value)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RequestJson {
    name: &'static str,
    namespace: &'static str,
    filter_keyword: bool,
    explicit_only: bool,
    description: &'static str,
}

pub fn requests(args: RequestsArgs) -> Exit {
    if args.format == TableFormat::Json {
        let rows: Vec<RequestJson> = REQUESTS
            .iter()
            .map(|r| RequestJson {
                name: r.name,
                namespace: r.namespace,
                filter_keyword: r.filter_keyword,
                explicit_only: r.explicit_only,
                description: r.description,
            })
            .collect();
        return emit(&to_json(&rows));
    }
    let width = REQUESTS.iter().map(|r| r.name.len()).max().unwrap_or(0);
    let mut out = format!("{:<width$}  {:<7}  {}\n", "REQUEST", "FLAGS", "DESCRIPTION");
    for r in REQUESTS {
        let flags = format!(
            "{}{}",
            if r.filter_keyword { "k" } else { "-" },
            if r.explicit_only { "x" } else { "-" }
        );
        out.push_str(&format!(
            "{:<width$}  {:<7}  {}\n",
            r.name, flags, r.description
        ));
    }
    out.push_str(
        "\nflags: k = documented filter keyword, x = granted only when named explicitly\n",
    );
    emit(&out)
}

pub fn rule(args: RuleArgs) -> Exit {
    let Some(text) = args.code else {
        if args.format == TableFormat::Json {
            return emit(&to_json(
                &Code::ALL
                    .iter()
                    .map(|&c| RuleJson::of(c, false))
                    .collect::<Vec<_>>(),
            ));
        }
        let width = Code::ALL.iter().map(|c| c.name().len()).max().unwrap_or(0);
        let mut out = String::new();
        for c in Code::ALL {
            out.push_str(&format!(
                "{}  {:<7}  {:<width$}  {}\n",
                c.as_str(),
                c.default_severity().as_str(),
                c.name(),
                c.summary()
            ));
        }
        return emit(&out);
    };
    let code = match scapi::front::rule(&text) {
        Ok(code) => code,
        Err(e) => return CliError::Rule(e).report(),
    };
    if args.format == TableFormat::Json {
        return emit(&to_json(&RuleJson::of(code, true)));
    }
    emit(&rule_page(code))
}

/// A rule's page: title with code, name and default severity, the summary,
/// then the documentation.
fn rule_page(code: Code) -> String {
    let mut page = format!(
        "# {} `{}` ({})\n\n{}.\n\n{}",
        code.as_str(),
        code.name(),
        code.default_severity().as_str(),
        upper_first(code.summary()),
        code.doc()
    );
    if !page.ends_with('\n') {
        page.push('\n');
    }
    page
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

pub fn schema(args: SchemaArgs) -> Exit {
    emit(match args.which {
        SchemaKind::Compiled => scapi::schema::COMPILED,
        SchemaKind::Diagnostics => scapi::schema::DIAGNOSTICS,
        SchemaKind::Eval => scapi::schema::EVAL,
        SchemaKind::Requests => scapi::schema::REQUESTS,
        SchemaKind::Diff => scapi::schema::DIFF,
        SchemaKind::Baseline => scapi::schema::BASELINE,
        SchemaKind::Signature => scapi::schema::SIGNATURE,
        SchemaKind::DecisionLog => scapi::schema::DECISION_LOG,
        SchemaKind::Serve => scapi::schema::SERVE,
    })
}

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

pub fn completions(args: CompletionsArgs, cmd: &mut clap::Command) -> Exit {
    let mut out = Vec::new();
    clap_complete::generate(args.shell, cmd, "scapi", &mut out);
    emit(&String::from_utf8_lossy(&out))
}
