//! The order entries run in: each source after the sources it checks
//! references against, each step after the tables it reads. A cycle is an
//! error at the first entry in it.

use super::{PlannedSource, PlannedStep, Validator};
use crate::model::Pipeline;
use crate::plugin::PluginKind;
use crate::yaml::Span;
use std::collections::{HashMap, HashSet};

impl Validator<'_> {
    /// The sources, each after the sources it checks references against.
    pub(super) fn order_sources(&mut self, sources: Vec<PlannedSource>, pipeline: &Pipeline) -> Vec<PlannedSource> {
        let deps: Vec<(String, Vec<String>)> =
            sources.iter().map(|s| (s.name.clone(), s.references.values().cloned().collect())).collect();
        let order = self.topological(&deps, pipeline, PluginKind::Source);
        let mut by_name: HashMap<String, PlannedSource> = sources.into_iter().map(|s| (s.name.clone(), s)).collect();
        order.into_iter().filter_map(|n| by_name.remove(&n)).collect()
    }

    /// The steps, each after the tables it reads.
    pub(super) fn order_steps(
        &mut self,
        steps: Vec<PlannedStep>,
        pipeline: &Pipeline,
        _tables: &HashMap<String, (PluginKind, Span)>,
    ) -> Vec<PlannedStep> {
        let deps: Vec<(String, Vec<String>)> = steps.iter().map(|s| (s.name.clone(), s.inputs.clone())).collect();
        let order = self.topological(&deps, pipeline, PluginKind::Transform);
        let mut by_name: HashMap<String, PlannedStep> = steps.into_iter().map(|s| (s.name.clone(), s)).collect();
        order.into_iter().filter_map(|n| by_name.remove(&n)).collect()
    }

    /// Order `nodes` so each comes after its dependencies among `nodes`
    /// (dependencies outside are already available); report cycles.
    fn topological(&mut self, nodes: &[(String, Vec<String>)], pipeline: &Pipeline, kind: PluginKind) -> Vec<String> {
        let names: HashSet<&str> = nodes.iter().map(|(n, _)| n.as_str()).collect();
        let deps: HashMap<&str, Vec<&str>> = nodes
            .iter()
            .map(|(n, d)| (n.as_str(), d.iter().map(String::as_str).filter(|x| names.contains(x) && *x != n).collect()))
            .collect();
        let mut order = Vec::new();
        let mut state: HashMap<&str, u8> = HashMap::new(); // 1 visiting, 2 done
        let mut reported = false;
        fn visit<'a>(
            n: &'a str,
            deps: &HashMap<&'a str, Vec<&'a str>>,
            state: &mut HashMap<&'a str, u8>,
            stack: &mut Vec<&'a str>,
            order: &mut Vec<String>,
            cycle: &mut Option<Vec<String>>,
        ) {
            match state.get(n) {
                Some(2) => return,
                Some(1) => {
                    if cycle.is_none() {
                        let start = stack.iter().position(|s| *s == n).unwrap_or(0);
                        let mut c: Vec<String> = stack[start..].iter().map(|s| s.to_string()).collect();
                        c.push(n.to_string());
                        *cycle = Some(c);
                    }
                    return;
                }
                _ => {}
            }
            state.insert(n, 1);
            stack.push(n);
            for d in deps.get(n).into_iter().flatten() {
                visit(d, deps, state, stack, order, cycle);
            }
            stack.pop();
            state.insert(n, 2);
            order.push(n.to_string());
        }
        for (n, _) in nodes {
            let mut cycle = None;
            visit(n, &deps, &mut state, &mut Vec::new(), &mut order, &mut cycle);
            if let Some(c) = cycle
                && !reported
            {
                reported = true;
                let span = pipeline.section(kind).find(|e| e.name == c[0]).map(|e| e.name_span).unwrap_or_default();
                self.error(
                    span,
                    format!("these {} depend on each other in a cycle: {}", kind.section(), c.join(" → ")),
                )
                .in_context(format!("{}.{}", kind.section(), c[0]))
                .hint("a table cannot be computed from itself; break the cycle");
            }
        }
        order
    }
}
