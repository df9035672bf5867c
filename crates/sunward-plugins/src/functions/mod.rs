//! The SQL functions Sunward adds: the statistics functions of [`stats`],
//! registered through [`Registry::add_scalar_function`] — the path a plugin
//! crate's own functions take too — each with its documentation, which
//! `sunward plugins --kind function` prints.

pub mod stats;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, DocSection, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
};
use sunward_core::Registry;

/// The section the statistics functions are documented under.
const STATISTICS: DocSection = DocSection { include: true, label: "Statistics", description: None };

/// Register every built-in SQL function.
pub fn register(registry: &mut Registry) {
    let docs: [(&str, &str, &str); 6] = [
        (
            "poisson_ci_low",
            "Lower end of the exact (Garwood) 95% interval of a Poisson count; divide by the exposure for a rate. Null for a null or negative count.",
            "poisson_ci_low(count)",
        ),
        (
            "poisson_ci_high",
            "Upper end of the exact (Garwood) 95% interval of a Poisson count; divide by the exposure for a rate. Null for a null or negative count.",
            "poisson_ci_high(count)",
        ),
        (
            "wilson_ci_low",
            "Lower end of the Wilson score 95% interval of a share successes / trials. Null when trials is 0.",
            "wilson_ci_low(successes, trials)",
        ),
        (
            "wilson_ci_high",
            "Upper end of the Wilson score 95% interval of a share successes / trials. Null when trials is 0.",
            "wilson_ci_high(successes, trials)",
        ),
        (
            "rate_ratio_ci_low",
            "Lower end of the 95% log interval of a rate ratio: exp(ln ratio − 1.959964·√(1/count_c + 1/count_b)). Null when a count is 0.",
            "rate_ratio_ci_low(count_c, count_b, ratio)",
        ),
        (
            "rate_ratio_ci_high",
            "Upper end of the 95% log interval of a rate ratio: exp(ln ratio + 1.959964·√(1/count_c + 1/count_b)). Null when a count is 0.",
            "rate_ratio_ci_high(count_c, count_b, ratio)",
        ),
    ];
    for function in stats::functions() {
        let doc = docs.iter().find(|(name, _, _)| *name == function.name());
        let function = match doc {
            Some((_, description, syntax)) => {
                documented(function, Documentation::builder(STATISTICS, *description, *syntax).build())
            }
            None => function,
        };
        registry.add_scalar_function(function);
    }
}

/// `function` with `documentation` attached (for functions made with
/// `create_udf`, which carry none).
pub fn documented(function: ScalarUDF, documentation: Documentation) -> ScalarUDF {
    ScalarUDF::new_from_impl(Documented { inner: function, documentation })
}

/// A scalar function and its documentation.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Documented {
    inner: ScalarUDF,
    documentation: Documentation,
}

impl ScalarUDFImpl for Documented {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        self.inner.invoke_with_args(args)
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&self.documentation)
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn every_statistics_function_is_registered_with_its_documentation() {
        let registry = crate::builtin_registry();
        let described = registry.functions().describe();
        let names: Vec<&str> = described.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "poisson_ci_high",
                "poisson_ci_low",
                "rate_ratio_ci_high",
                "rate_ratio_ci_low",
                "wilson_ci_high",
                "wilson_ci_low"
            ]
        );
        for f in &described {
            assert!(!f.description.is_empty(), "{} has no description", f.name);
            assert!(f.signature.starts_with(&format!("{}(", f.name)), "{}", f.signature);
        }
    }
}
