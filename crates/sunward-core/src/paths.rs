//! Paths as the user wrote them, tidied without touching the file system.

use std::path::{Component, Path, PathBuf};

/// A path with `.` and `dir/..` removed, without touching the file system:
/// `pipelines/../sample-data/x.csv` becomes `sample-data/x.csv`. A `..` that
/// climbs above the start of a relative path is kept.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out: Vec<Component> = Vec::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir) | Some(Component::Prefix(_)) => {}
                _ => out.push(part),
            },
            other => out.push(other),
        }
    }
    if out.is_empty() { PathBuf::from(".") } else { out.iter().collect() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dots_go_and_a_climb_above_the_start_stays() {
        assert_eq!(normalize(Path::new("pipelines/../sample-data/x.csv")), PathBuf::from("sample-data/x.csv"));
        assert_eq!(normalize(Path::new("./a/./b/../c")), PathBuf::from("a/c"));
        assert_eq!(normalize(Path::new("../a/b")), PathBuf::from("../a/b"));
        assert_eq!(normalize(Path::new("/x/../../y")), PathBuf::from("/y"));
        assert_eq!(normalize(Path::new("a/..")), PathBuf::from("."));
    }
}
