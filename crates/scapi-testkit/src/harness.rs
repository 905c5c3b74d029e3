//! A test per case: every folder of `tests/cases/<group>/` is a test of its
//! own, named `<group>::<case>` (lower case, `-` written `_`), so
//! `cargo test -- lint::agent_group_flag` runs one case and a failure names
//! it. Built on `libtest-mimic`: the usual filters, `--exact`, `--list`,
//! `--ignored` and `--test-threads` work as with the built-in harness.

use crate::cases::{Golden, cases};
pub use libtest_mimic::Conclusion;
use libtest_mimic::{Arguments, Failed, Trial};
use std::path::Path;
use std::sync::Arc;

/// The test name of a case folder: `lint::agent_group_flag`.
pub fn case_name(group: &str, dir: &Path) -> String {
    let case = dir
        .file_name()
        .map(|n| {
            n.to_string_lossy()
                .to_lowercase()
                .replace(['-', '.', ' '], "_")
        })
        .unwrap_or_default();
    format!("{group}::{case}")
}

/// The tests of one harness binary.
#[derive(Default)]
pub struct Suite {
    trials: Vec<Trial>,
}

impl Suite {
    /// No tests yet.
    pub fn new() -> Suite {
        Suite::default()
    }

    /// A test for every case folder of `group`, named by
    /// [`case_name`] (followed by `::aspect` when one harness checks the
    /// same folders for another reason, as `lint::x::compiled`). `check`
    /// records mismatches in the case's [`Golden`]; a panic fails the case.
    pub fn cases(
        &mut self,
        group: &str,
        aspect: Option<&str>,
        check: impl Fn(&Path, &mut Golden) + Send + Sync + 'static,
    ) -> &mut Suite {
        self.cases_where(group, aspect, |_| Some(false), check)
    }

    /// [`cases`](Suite::cases) for the folders `select` keeps (`None`
    /// leaves a folder out: the harness has nothing to check there), each
    /// marked ignored when `select` says so (`Some(true)`: a program it
    /// needs is missing), so the run says it was not checked.
    pub fn cases_where(
        &mut self,
        group: &str,
        aspect: Option<&str>,
        select: impl Fn(&Path) -> Option<bool>,
        check: impl Fn(&Path, &mut Golden) + Send + Sync + 'static,
    ) -> &mut Suite {
        let check = Arc::new(check);
        for dir in cases(group) {
            let Some(ignored) = select(&dir) else {
                continue;
            };
            let mut name = case_name(group, &dir);
            if let Some(a) = aspect {
                name = format!("{name}::{a}");
            }
            let check = Arc::clone(&check);
            self.trials.push(
                Trial::test(name, move || {
                    let mut golden = Golden::default();
                    check(&dir, &mut golden);
                    golden.result().map_err(Failed::from)
                })
                .with_ignored_flag(ignored),
            );
        }
        self
    }

    /// A test for each of `items` (rule codes, say), named
    /// `<group>::<name>`.
    pub fn each<T: Send + 'static>(
        &mut self,
        group: &str,
        items: impl IntoIterator<Item = (String, T)>,
        check: impl Fn(T, &mut Golden) + Send + Sync + 'static,
    ) -> &mut Suite {
        let check = Arc::new(check);
        for (name, item) in items {
            let check = Arc::clone(&check);
            self.trials
                .push(Trial::test(format!("{group}::{name}"), move || {
                    let mut golden = Golden::default();
                    check(item, &mut golden);
                    golden.result().map_err(Failed::from)
                }));
        }
        self
    }

    /// A test of its own (one that is not per case), which passes unless it
    /// panics.
    pub fn test(&mut self, name: &str, test: impl FnOnce() + Send + 'static) -> &mut Suite {
        self.trials.push(Trial::test(name, move || {
            test();
            Ok(())
        }));
        self
    }

    /// Runs the tests selected by the command line and exits.
    pub fn run(&mut self) -> ! {
        self.conclude().exit()
    }

    /// Runs the tests selected by the command line; the caller stops what
    /// they shared (servers) and exits with [`Conclusion::exit`].
    pub fn conclude(&mut self) -> Conclusion {
        let args = Arguments::from_args();
        libtest_mimic::run(&args, std::mem::take(&mut self.trials))
    }
}
