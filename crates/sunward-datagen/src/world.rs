//! The world the tables describe: every school's students year by year, its
//! classes, and the days its social worker is on site.
//!
//! Students come in cohorts: the students who entered a school's first grade
//! in a given year move up one grade a year until they leave, keeping their
//! class number. A [`Student`] is named by school, entry year and serial, so
//! nothing per student is stored; their pseudonymous `student_ref` is a hash
//! of that name and the seed.

use crate::calendar::{DayKind, day_kind, days, ymd};
use crate::rng::{self, hash, mix64, unit};
use crate::spec::{Kind, Spec, class_size};
use chrono::{Datelike, NaiveDate, Weekday};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use sunward_core::{Diagnostic, Result};

/// One student, named by school index, the year their cohort entered the
/// school's first grade, and a serial within the cohort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Student {
    /// Index of the school in the spec.
    pub school: u16,
    /// Entry year of the cohort.
    pub entry: i16,
    /// Serial within the cohort.
    pub serial: u32,
}

impl Student {
    /// A number that names the student uniquely.
    pub fn code(self) -> u64 {
        (u64::from(self.school) << 48) | (u64::from(self.entry as u16) << 32) | u64::from(self.serial)
    }

    /// The pseudonymous `student_ref`: 32 lowercase hex characters, distinct
    /// for distinct students under one seed (the first half is a bijection of
    /// the student's code).
    pub fn reference(self, seed: u64) -> [u8; 32] {
        let h1 = mix64(mix64(seed ^ 0x5eed_5eed_5eed_5eed) ^ mix64(self.code()));
        let h2 = mix64(h1 ^ seed.rotate_left(17) ^ 0x00c0_ffee);
        let mut out = [0u8; 32];
        let digits = b"0123456789abcdef";
        for (i, byte) in h1.to_be_bytes().iter().chain(h2.to_be_bytes().iter()).enumerate() {
            out[2 * i] = digits[usize::from(byte >> 4)];
            out[2 * i + 1] = digits[usize::from(byte & 15)];
        }
        out
    }
}

/// The students of one grade of a school in one academic year.
#[derive(Debug, Clone, Copy)]
pub struct Cohort {
    /// Grade (1–12).
    pub grade: u8,
    /// Entry year.
    pub entry: i32,
    /// Students.
    pub size: u32,
    /// Classes.
    pub classes: u32,
}

impl Cohort {
    /// Students in class `n` (1-based).
    pub fn class_students(&self, n: u32) -> u32 {
        self.size / self.classes + u32::from(n - 1 < self.size % self.classes)
    }
}

/// One school's students in one academic year.
#[derive(Debug, Clone)]
pub struct Roster {
    /// Cohorts by grade, lowest first.
    pub cohorts: Vec<Cohort>,
    /// Enrolled students.
    pub students: u32,
    /// Classes.
    pub classes: u32,
}

/// The generated world.
#[derive(Debug)]
pub struct World {
    /// What was asked for.
    pub spec: Spec,
    /// The seed.
    pub seed: u64,
    rosters: Vec<BTreeMap<i32, Roster>>,
    onsite: Vec<Vec<bool>>,
}

impl World {
    /// Build the rosters and the on-site schedules.
    pub fn new(spec: Spec, seed: u64) -> Result<World> {
        let mut rosters = Vec::with_capacity(spec.schools.len());
        for (s, school) in spec.schools.iter().enumerate() {
            let (lo, hi) = school.stage.grades();
            let grades = u32::from(hi - lo + 1);
            let base = f64::from(school.students) / f64::from(grades);
            let mut by_year = BTreeMap::new();
            for &ay in &spec.years {
                let cohorts: Vec<Cohort> = (lo..=hi)
                    .map(|grade| {
                        let entry = ay - i32::from(grade - lo);
                        let jitter = 0.92 + 0.16 * unit(hash(seed, "cohort", &[s as u64, entry as u64]));
                        let size = ((base * jitter).round() as u32).clamp(1, 99_999);
                        let classes = size.div_ceil(class_size(school.stage, grade)).max(1);
                        Cohort { grade, entry, size, classes }
                    })
                    .collect();
                let students = cohorts.iter().map(|c| c.size).sum();
                let classes = cohorts.iter().map(|c| c.classes).sum();
                by_year.insert(ay, Roster { cohorts, students, classes });
            }
            rosters.push(by_year);
        }
        let mut world = World { spec, seed, rosters, onsite: Vec::new() };
        world.onsite = match world.spec.kind {
            Kind::District => world.district_schedule(),
            Kind::Project => world.project_schedule()?,
        };
        Ok(world)
    }

    /// The roster of school `s` in academic year `ay` (`None` outside the years).
    pub fn roster(&self, s: usize, ay: i32) -> Option<&Roster> {
        self.rosters.get(s).and_then(|r| r.get(&ay))
    }

    /// `class_id` of class `n` of `grade` at school `s` in academic year `ay`.
    pub fn class_id(&self, s: usize, ay: i32, grade: u8, n: u32) -> String {
        format!("{}-{ay}-G{grade}-{n}", self.spec.schools[s].id)
    }

    /// The grade and class number of a student in academic year `ay`.
    pub fn placement(&self, student: Student, ay: i32) -> Option<(u8, u32)> {
        let roster = self.roster(usize::from(student.school), ay)?;
        let cohort = roster.cohorts.iter().find(|c| c.entry == i32::from(student.entry))?;
        Some((cohort.grade, student.serial % cohort.classes + 1))
    }

    /// A student of school `s` enrolled in academic year `ay`, uniformly; with
    /// `staying`, one who is not in the school's last grade (still there next year).
    pub fn pick_student(&self, rng: &mut ChaCha8Rng, s: usize, ay: i32, staying: bool) -> Option<Student> {
        let roster = self.roster(s, ay)?;
        let last = self.spec.schools[s].stage.grades().1;
        let eligible = |c: &&Cohort| !(staying && c.grade == last && roster.cohorts.len() > 1);
        let total: u64 = roster.cohorts.iter().filter(eligible).map(|c| u64::from(c.size)).sum();
        let mut x = rng::between(rng, 0, total.saturating_sub(1));
        for c in roster.cohorts.iter().filter(eligible) {
            if x < u64::from(c.size) {
                return Some(Student { school: s as u16, entry: c.entry as i16, serial: x as u32 });
            }
            x -= u64::from(c.size);
        }
        None
    }

    /// A student of `grade` at school `s` in academic year `ay`.
    pub fn pick_in_grade(&self, rng: &mut ChaCha8Rng, s: usize, ay: i32, grade: u8) -> Option<Student> {
        let cohort = self.roster(s, ay)?.cohorts.iter().find(|c| c.grade == grade)?;
        let serial = rng.random_range(0..cohort.size);
        Some(Student { school: s as u16, entry: cohort.entry as i16, serial })
    }

    /// The student's screening latent in academic year `ay`: a standard normal
    /// number, two-fifths of whose variance is the student's own lasting trait.
    pub fn latent(&self, student: Student, ay: i32) -> f64 {
        let code = student.code();
        let trait_ = rng::normal(hash(self.seed, "trait", &[code]), hash(self.seed, "trait2", &[code]));
        let year =
            rng::normal(hash(self.seed, "year", &[code, ay as u64]), hash(self.seed, "year2", &[code, ay as u64]));
        0.632_455_5 * trait_ + 0.774_596_7 * year
    }

    /// Whether the student sat the September screening of `ay` (about 1.5% miss it).
    pub fn screened(&self, student: Student, ay: i32) -> bool {
        unit(hash(self.seed, "absent", &[student.code(), ay as u64])) >= 0.015
    }

    /// Whether school `s`'s worker is on site on `date`.
    pub fn onsite(&self, s: usize, date: NaiveDate) -> bool {
        let offset = (date - self.spec.start).num_days();
        offset >= 0 && self.onsite.get(s).and_then(|d| d.get(offset as usize)).copied().unwrap_or(false)
    }

    /// Every date of the data, in order.
    pub fn dates(&self) -> impl Iterator<Item = NaiveDate> {
        days(self.spec.start, self.spec.end)
    }

    fn blank_schedule(&self) -> Vec<Vec<bool>> {
        let n = (self.spec.end - self.spec.start).num_days() as usize + 1;
        vec![vec![false; n]; self.spec.schools.len()]
    }

    /// Fixed weekdays per school in term, minus about 4% of days (training, sick leave).
    fn district_schedule(&self) -> Vec<Vec<bool>> {
        let mut schedule = self.blank_schedule();
        for (s, school) in self.spec.schools.iter().enumerate() {
            for (i, date) in self.dates().enumerate() {
                let skip = unit(hash(self.seed, "onsite-skip", &[s as u64, i as u64])) < 0.04;
                schedule[s][i] = day_kind(date) == DayKind::School && school.onsite.contains(&date.weekday()) && !skip;
            }
        }
        schedule
    }

    /// The project: one day a week at each school until the summer of 2025
    /// (in spring 2025 the two schools alternate week by week), then the fixed
    /// weekdays of the resident service from September 2025; calendar 2025 ends
    /// with exactly [`PROJECT_ONSITE_DAYS_2025`] (school, day) pairs.
    fn project_schedule(&self) -> Result<Vec<Vec<bool>>> {
        let mut schedule = self.blank_schedule();
        let start = self.spec.start;
        let upgrade = ymd(2025, 9, 1);
        let spring = ymd(2025, 1, 1);
        for (i, date) in self.dates().enumerate() {
            if day_kind(date) != DayKind::School {
                continue;
            }
            let weekday = date.weekday();
            let week = (date - start).num_days() / 7;
            for (s, school) in self.spec.schools.iter().enumerate() {
                let weekly_day = if s == 0 { Weekday::Tue } else { Weekday::Thu };
                schedule[s][i] = if date >= upgrade {
                    school.onsite.contains(&weekday)
                } else if date >= spring {
                    weekday == weekly_day && (week % 2 == 0) == (s == 0)
                } else {
                    weekday == weekly_day
                };
            }
        }
        // Trim or fill calendar 2025 to the exact figure.
        let mut rng = rng::stream(self.seed, "project-onsite", &[]);
        let in_2025: Vec<(usize, usize)> = (0..self.spec.schools.len())
            .flat_map(|s| self.dates().enumerate().filter(|(_, d)| d.year() == 2025).map(move |(i, _)| (s, i)))
            .collect();
        let mut on: Vec<(usize, usize)> = in_2025.iter().copied().filter(|(s, i)| schedule[*s][*i]).collect();
        let mut off: Vec<(usize, usize)> = in_2025
            .iter()
            .copied()
            .filter(|(s, i)| {
                let date = start + chrono::Days::new(*i as u64);
                !schedule[*s][*i] && day_kind(date) == DayKind::School && date < upgrade
            })
            .collect();
        while on.len() > PROJECT_ONSITE_DAYS_2025 {
            let k = rng::between(&mut rng, 0, on.len() as u64 - 1) as usize;
            let (s, i) = on.swap_remove(k);
            schedule[s][i] = false;
        }
        while on.len() < PROJECT_ONSITE_DAYS_2025 {
            if off.is_empty() {
                return Err(Diagnostic::runtime("internal: the project schedule has too few school days"));
            }
            let k = rng::between(&mut rng, 0, off.len() as u64 - 1) as usize;
            let (s, i) = off.swap_remove(k);
            schedule[s][i] = true;
            on.push((s, i));
        }
        Ok(schedule)
    }
}

/// On-site (school, day) pairs of the project in calendar 2025.
pub const PROJECT_ONSITE_DAYS_2025: usize = 101;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Preset;

    #[test]
    fn references_are_hex_and_distinct() {
        let a = Student { school: 0, entry: 2020, serial: 1 };
        let b = Student { school: 0, entry: 2020, serial: 2 };
        let ra = a.reference(1);
        assert!(ra.iter().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(ra, b.reference(1));
        assert_ne!(ra, a.reference(2));
        assert_eq!(ra, a.reference(1));
    }

    #[test]
    fn project_has_its_onsite_days() {
        let world = World::new(Preset::Project.spec().unwrap(), 1).unwrap();
        let n = (0..2)
            .flat_map(|s| world.dates().filter(move |d| d.year() == 2025).map(move |d| (s, d)))
            .filter(|(s, d)| world.onsite(*s, *d))
            .count();
        assert_eq!(n, PROJECT_ONSITE_DAYS_2025);
    }

    #[test]
    fn rosters_move_up_a_grade() {
        let world = World::new(Preset::Taicang.spec().unwrap(), 1).unwrap();
        let a = world.roster(0, 2022).unwrap().cohorts[0];
        let b = world.roster(0, 2023).unwrap().cohorts[1];
        assert_eq!((a.entry, a.size, a.classes), (b.entry, b.size, b.classes));
        let total: u32 = (0..20).map(|s| world.roster(s, 2023).unwrap().students).sum();
        assert!((29_500..=32_500).contains(&total), "{total}");
    }
}
