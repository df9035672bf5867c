//! Which schools make up each organisation and district, and the districts
//! (or schools) `all` adds up: the equations across units.

use std::collections::BTreeMap;

/// A unit: its type and id.
type Unit = (String, String);

/// Which schools make up each organisation and district.
#[derive(Debug, Clone, Default)]
pub struct Hierarchy {
    /// Each aggregate unit (`org`, `district`, `all`) and the units it adds up.
    pub(super) groups: Vec<(Unit, Vec<Unit>)>,
}

impl Hierarchy {
    /// From the schools: their id, organisation (if any) and district (if
    /// any). `all` is the sum of the districts, or of the schools when no
    /// school has a district.
    pub fn from_schools<'a>(
        schools: impl IntoIterator<Item = (&'a str, Option<&'a str>, Option<&'a str>)>,
    ) -> Hierarchy {
        let mut orgs: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        let mut districts: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        let mut all_schools = Vec::new();
        for (school, org, district) in schools {
            let unit = ("school".to_string(), school.to_string());
            if let Some(o) = org.filter(|o| !o.is_empty()) {
                orgs.entry(o.to_string()).or_default().push(unit.clone());
            }
            if let Some(d) = district.filter(|d| !d.is_empty()) {
                districts.entry(d.to_string()).or_default().push(unit.clone());
            }
            all_schools.push(unit);
        }
        let mut groups = Vec::new();
        let all_members: Vec<(String, String)> = if districts.is_empty() {
            all_schools
        } else {
            districts.keys().map(|d| ("district".to_string(), d.clone())).collect()
        };
        for (o, members) in orgs {
            groups.push((("org".to_string(), o), members));
        }
        for (d, members) in districts {
            groups.push((("district".to_string(), d), members));
        }
        groups.push((("all".to_string(), "all".to_string()), all_members));
        Hierarchy { groups }
    }
}
