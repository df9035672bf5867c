//! Validating `contract:`: a project's additions to the data contract.
//!
//! A pipeline (or a package it uses) may list, under `contract:`, files
//! holding one contract document each — paths relative to its own folder —
//! or write the documents in place:
//!
//! ```yaml
//! contract:
//!   - contract/followups.yaml      # a new table: `table:`, `row:`, `columns:`
//!   - extends: cases               # more for a shipped table
//!     columns:
//!       primary_issue:
//!         codes:
//!           cyberbullying: [网络欺凌]
//!       grade: {type: int, min: 1, max: 12, headers: [年级]}
//! ```
//!
//! The documents are applied in order, the packages' before the pipeline's,
//! to the built-in contract ([`Contract::extend`]); the plan carries the
//! result, and every source with `contract: <table>` is loaded by it.

use super::Validator;
use super::packages::UsedPackage;
use crate::contract::Contract;
use crate::diag::Diagnostic;
use crate::yaml::{self, Node, Value};
use std::path::Path;

const EXAMPLE: &str = "e.g.\ncontract:\n  - contract/followups.yaml\n  - extends: cases\n    columns:\n      grade: {type: int, min: 1, max: 12}";

impl Validator<'_> {
    /// The contract the pipeline's sources are read by: the built-in one,
    /// extended by the packages' `contract:` and then the pipeline's.
    pub(super) fn contract(&mut self, root: &Node, dir: &Path, packages: &[UsedPackage]) -> &'static Contract {
        // Each document with the file it was read from (kept alive here).
        let mut read: Vec<(Node, String)> = Vec::new();
        for package in packages {
            if let Some(section) = package.root.get("contract") {
                let file = package.file.clone();
                read.extend(self.contract_documents(section, &package.dir, &file));
            }
        }
        if let Some(section) = root.get("contract") {
            let file = self.file;
            read.extend(self.contract_documents(section, dir, file));
        }
        let builtin = Contract::builtin();
        if read.is_empty() {
            return builtin;
        }
        let documents: Vec<(&Node, &str)> = read.iter().map(|(n, f)| (n, f.as_str())).collect();
        match builtin.extend(&documents) {
            Ok(extended) => extended,
            Err(errors) => {
                for e in errors {
                    self.diags.push(e.in_context("contract"));
                }
                builtin
            }
        }
    }

    /// The documents of one `contract:` list written in `file`, whose folder is `dir`.
    fn contract_documents(&mut self, section: &Node, dir: &Path, file: &str) -> Vec<(Node, String)> {
        let items: Vec<&Node> = match &section.value {
            Value::Seq(items) => items.iter().collect(),
            Value::Null => Vec::new(),
            _ => {
                self.diags.push(
                    Diagnostic::invalid(format!(
                        "`contract` must be a list of files and documents, found {}",
                        section.kind_name()
                    ))
                    .at(Some(section.location(file)))
                    .in_context("contract")
                    .hint(EXAMPLE),
                );
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for item in items {
            match &item.value {
                Value::Map(_) => out.push((item.clone(), file.to_string())),
                Value::Str(name) => {
                    let path = dir.join(name);
                    let label = path.display().to_string();
                    let text = match std::fs::read_to_string(&path) {
                        Ok(t) => t,
                        Err(e) => {
                            self.diags.push(
                                Diagnostic::invalid(format!("cannot read the contract file {label}"))
                                    .caused_by(e)
                                    .at(Some(item.location(file)))
                                    .in_context("contract")
                                    .hint(format!("paths under `contract:` are relative to the folder of {file}")),
                            );
                            continue;
                        }
                    };
                    match yaml::parse(&text, &label) {
                        Ok(node) => out.push((node, label)),
                        Err(d) => self.diags.push(d),
                    }
                }
                _ => self.diags.push(
                    Diagnostic::invalid(format!(
                        "an entry of `contract` is a file name or a document, found {}",
                        item.kind_name()
                    ))
                    .at(Some(item.location(file)))
                    .in_context("contract")
                    .hint(EXAMPLE),
                ),
            }
        }
        out
    }
}
