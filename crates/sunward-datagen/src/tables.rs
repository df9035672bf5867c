//! The files, row by row: the tables of the data contract and
//! `centre_services` (the district centres' own rows of `services`); the
//! access tables are written by [`crate::access`].
//!
//! Each function writes one file to a [`Out`] in a fixed order (by school,
//! then year or date), drawing from its own random streams: one per table and
//! school (or year), so the rows of one school never depend on another's.
//! Rows are pushed as they are made; nothing but the plan is held (and, for
//! `centre_services`, one district's centre events at a time). The columns
//! of the prevention loop (cases' channel and crisis dates, screenings'
//! channel and dimensions) come from [`crate::prevention`]'s streams, never
//! from the streams of the columns beside them.

use crate::calendar::{DayKind, academic_year, ay_end, ay_start, day_kind, days, earlier, later, ymd};
use crate::plan::{Bucket, Case, GENERAL, HIGH, KEY, Participants, Plan, ServiceType, Tier};
use crate::prevention::{self, Taker};
use crate::rng::{self, between, chance, hash, stream, unit};
use crate::sink::{Cell, Out};
use crate::spec::{Kind, SchoolSpec, Stage};
use crate::world::{Student, World};
use chrono::{Datelike, NaiveDate, Weekday};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeSet, VecDeque};
use std::fmt::Write as _;
use sunward_core::{Diagnostic, Result};

fn opt(value: Option<&str>) -> Cell<'_> {
    value.map_or(Cell::Null, Cell::Str)
}

fn date_cell(value: Option<NaiveDate>) -> Cell<'static> {
    value.map_or(Cell::Null, Cell::Date)
}

pub(crate) fn schools(world: &World, out: &mut Out<'_>) -> Result<()> {
    let spec = &world.spec;
    for school in &spec.schools {
        let d = &spec.districts[school.district];
        let org = school.org.map(|o| &spec.orgs[o]);
        out.push(&[
            Cell::Str(&school.id),
            Cell::Str(&school.name),
            Cell::Str(school.stage.code()),
            Cell::Str(&d.id),
            Cell::Str(&d.name),
            Cell::Str(&d.city),
            opt(org.map(|o| o.id.as_str())),
            opt(org.map(|o| o.name.as_str())),
        ])?;
    }
    Ok(())
}

pub(crate) fn enrolment(world: &World, out: &mut Out<'_>) -> Result<()> {
    for (s, school) in world.spec.schools.iter().enumerate() {
        for &ay in &world.spec.years {
            let Some(r) = world.roster(s, ay) else { continue };
            out.push(&[
                Cell::Str(&school.id),
                Cell::Int(ay.into()),
                Cell::Int(r.students.into()),
                Cell::Int(r.classes.into()),
            ])?;
        }
    }
    Ok(())
}

pub(crate) fn classes(world: &World, out: &mut Out<'_>) -> Result<()> {
    for (s, school) in world.spec.schools.iter().enumerate() {
        for &ay in &world.spec.years {
            let Some(r) = world.roster(s, ay) else { continue };
            for c in &r.cohorts {
                for n in 1..=c.classes {
                    let id = world.class_id(s, ay, c.grade, n);
                    out.push(&[
                        Cell::Str(&id),
                        Cell::Str(&school.id),
                        Cell::Int(ay.into()),
                        Cell::Int(c.grade.into()),
                        Cell::Int(c.class_students(n).into()),
                    ])?;
                }
            }
        }
    }
    Ok(())
}

/// The nearest weekday on or before `d`, but not before `floor`.
fn weekday_back(mut d: NaiveDate, floor: NaiveDate) -> NaiveDate {
    while matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && d > floor {
        d = d.pred_opt().unwrap_or(d);
    }
    d
}

/// The first school day on or after `d`.
fn school_day_from(mut d: NaiveDate) -> NaiveDate {
    for _ in 0..30 {
        if day_kind(d) == DayKind::School {
            break;
        }
        d = d.succ_opt().unwrap_or(d);
    }
    d
}

fn days_after(d: NaiveDate, n: u64) -> NaiveDate {
    d + chrono::Days::new(n)
}

/// Second assessment, first intervention and referral of a screening.
fn follow_up(
    world: &World,
    rng: &mut ChaCha8Rng,
    level: &str,
    screened: NaiveDate,
) -> (Option<NaiveDate>, Option<NaiveDate>, Option<NaiveDate>) {
    let (p_second, p_intervention) = world.spec.closed_loop;
    let (second, intervention) = match level {
        "high" => {
            let second = if chance(rng, p_second) {
                Some(weekday_back(days_after(screened, between(rng, 1, 7)), screened))
            } else if chance(rng, 0.6) {
                Some(weekday_back(days_after(screened, between(rng, 8, 21)), screened))
            } else {
                None
            };
            let deadline = days_after(screened, world.spec.intervention_within.max(1) as u64);
            let intervention = match second {
                Some(sd) if sd <= days_after(screened, 7) => {
                    if chance(rng, p_intervention) {
                        let room = (deadline - sd).num_days().clamp(0, 7) as u64;
                        Some(weekday_back(days_after(sd, between(rng, 0, room)), sd))
                    } else if chance(rng, 0.7) {
                        Some(weekday_back(days_after(screened, between(rng, 15, 35)), sd))
                    } else {
                        None
                    }
                }
                Some(sd) => chance(rng, 0.8).then(|| weekday_back(days_after(sd, between(rng, 1, 14)), sd)),
                None => chance(rng, 0.3).then(|| weekday_back(days_after(screened, between(rng, 10, 30)), screened)),
            };
            (second, intervention)
        }
        "key" => {
            let second = chance(rng, 0.6).then(|| weekday_back(days_after(screened, between(rng, 3, 21)), screened));
            let intervention = chance(rng, 0.1).then(|| days_after(second.unwrap_or(screened), between(rng, 2, 14)));
            (second, intervention)
        }
        _ => (None, None),
    };
    let referred = match intervention {
        Some(d) if level == "high" && chance(rng, 0.2) => Some(days_after(d, between(rng, 3, 20))),
        _ => None,
    };
    let end = world.spec.end;
    let cap = |d: Option<NaiveDate>| d.filter(|d| *d <= end);
    (cap(second), cap(intervention), cap(referred))
}

/// One screening as generated.
struct Screening<'a> {
    school: usize,
    academic_year: i32,
    id: &'a str,
    class_id: &'a str,
    student: Student,
    screened_on: NaiveDate,
    instrument: &'static str,
    score: f64,
    level: &'static str,
    second: Option<NaiveDate>,
    intervention: Option<NaiveDate>,
    referred: Option<NaiveDate>,
    dims: [bool; 5],
}

/// Make every screening, by school, year and class, and hand each to `visit`
/// (the `screenings` table, and the follow-ups of high ones, replay the same rows).
fn each_screening(world: &World, mut visit: impl FnMut(&Screening<'_>) -> Result<()>) -> Result<()> {
    let mut id = String::new();
    for (s, school) in world.spec.schools.iter().enumerate() {
        for &ay in &world.spec.years {
            let Some(roster) = world.roster(s, ay) else { continue };
            let mut rng = stream(world.seed, "screenings", &[s as u64, ay as u64]);
            let mut dims_rng = stream(world.seed, "screening-dims", &[s as u64, ay as u64]);
            let window = later(days_after(ymd(ay, 9, 8), between(&mut rng, 0, 6)), world.spec.start);
            let mut seq = 0u64;
            for c in &roster.cohorts {
                let instrument = if c.grade <= 3 { "SDQ" } else { "MHT" };
                for n in 1..=c.classes {
                    let screened_on = school_day_from(days_after(window, between(&mut rng, 0, 12)));
                    let class_id = world.class_id(s, ay, c.grade, n);
                    for serial in ((n - 1)..c.size).step_by(c.classes as usize) {
                        let student = Student { school: s as u16, entry: c.entry as i16, serial };
                        if !world.screened(student, ay) {
                            continue;
                        }
                        let z = world.latent(student, ay);
                        let level = if z > HIGH {
                            "high"
                        } else if z > KEY {
                            "key"
                        } else if z > GENERAL {
                            "general"
                        } else {
                            "none"
                        };
                        let score = if instrument == "SDQ" {
                            (9.0 + 4.5 * z).round().clamp(0.0, 40.0)
                        } else {
                            (45.0 + 12.0 * z).round().clamp(5.0, 98.0)
                        };
                        let (second, intervention, referred) = follow_up(world, &mut rng, level, screened_on);
                        let dims = prevention::screening_dims(&mut dims_rng, level);
                        seq += 1;
                        id.clear();
                        let _ = write!(id, "{}-{:02}-{seq:05}", school.id, ay.rem_euclid(100));
                        visit(&Screening {
                            school: s,
                            academic_year: ay,
                            id: &id,
                            class_id: &class_id,
                            student,
                            screened_on,
                            instrument,
                            score,
                            level,
                            second,
                            intervention,
                            referred,
                            dims,
                        })?;
                    }
                }
            }
        }
    }
    Ok(())
}

pub(crate) fn screenings(world: &World, out: &mut Out<'_>) -> Result<()> {
    each_screening(world, |r| {
        let [emotion, behaviour, cognition, social, life_events] = r.dims;
        out.push(&[
            Cell::Str(r.id),
            Cell::Str(&world.spec.schools[r.school].id),
            Cell::Int(r.academic_year.into()),
            Cell::Str(r.class_id),
            Cell::Student(r.student),
            Cell::Date(r.screened_on),
            Cell::Str(r.instrument),
            Cell::Float(r.score),
            Cell::Str(r.level),
            date_cell(r.second),
            date_cell(r.intervention),
            date_cell(r.referred),
            // The yearly screening is what brought every generated row to its assessment.
            Cell::Str("screening"),
            Cell::Bool(emotion),
            Cell::Bool(behaviour),
            Cell::Bool(cognition),
            Cell::Bool(social),
            Cell::Bool(life_events),
        ])
    })
}

pub(crate) fn cases(world: &World, plan: &Plan, out: &mut Out<'_>) -> Result<()> {
    for (c, lp) in plan.cases.iter().zip(&plan.loops) {
        out.push(&[
            Cell::Str(&c.id),
            Cell::Str(&world.spec.schools[c.school].id),
            Cell::Student(c.student),
            Cell::Date(c.opened),
            date_cell(c.closed),
            Cell::Str(c.initial.code()),
            c.final_tier.map_or(Cell::Null, |t| Cell::Str(t.code())),
            Cell::Str(c.issue),
            Cell::Str(c.outcome),
            opt(c.referred),
            Cell::Str(lp.channel),
            date_cell(lp.crisis),
            date_cell(lp.referred),
            date_cell(lp.leave),
            date_cell(lp.returned),
        ])?;
    }
    Ok(())
}

/// Events per day: exact proportions for large counts, random draws for small ones.
fn allocate(rng: &mut ChaCha8Rng, count: u64, weights: &[f64]) -> Vec<u64> {
    let n = weights.len();
    if n == 0 {
        return Vec::new();
    }
    let uniform_weights;
    let weights = if weights.iter().all(|w| *w <= 0.0) {
        uniform_weights = vec![1.0; n];
        &uniform_weights[..]
    } else {
        weights
    };
    if count >= 4 * n as u64 {
        return rng::apportion(count, weights);
    }
    let mut cumulative = Vec::with_capacity(n);
    let mut sum = 0.0;
    for w in weights {
        sum += w.max(0.0);
        cumulative.push(sum);
    }
    let mut counts = vec![0u64; n];
    for _ in 0..count {
        counts[rng::in_cumulative(rng, &cumulative)] += 1;
    }
    counts
}

/// A bucket being spread over its days.
struct Active<'p> {
    bucket: &'p Bucket,
    counts: Vec<u64>,
    exact: VecDeque<u64>,
    used: BTreeSet<Student>,
}

fn duration(rng: &mut ChaCha8Rng, kind: ServiceType) -> Cell<'static> {
    if chance(rng, 0.04) {
        return Cell::Null;
    }
    let (lo, hi) = kind.duration();
    Cell::Int((between(rng, lo / 5, hi / 5) * 5) as i64)
}

pub(crate) fn services(world: &World, plan: &Plan, out: &mut Out<'_>) -> Result<()> {
    let spec = &world.spec;
    let mut ids = RowIds::default();
    for (s, school) in spec.schools.iter().enumerate() {
        let mut writer = SchoolServices {
            world,
            s,
            school,
            supervisor: school.org.map(|o| spec.orgs[o].supervisor.as_str()),
            rng: stream(world.seed, "services", &[s as u64]),
            times: stream(world.seed, "service-times", &[s as u64]),
            seq: 0,
            ids: &mut ids,
        };
        let mut active = active_buckets(world, plan, s)?;
        let sessions = school_sessions(plan, s);
        let mut next = 0;
        for date in world.dates() {
            while next < sessions.len() && sessions[next].0 <= date {
                writer.case_session(&plan.cases[sessions[next].1], date, out)?;
                next += 1;
            }
            for a in active.iter_mut() {
                let bucket = a.bucket;
                if date < bucket.start || date > bucket.end {
                    continue;
                }
                let k = a.counts[(date - bucket.start).num_days() as usize];
                for _ in 0..k {
                    writer.bucket_service(a, date, out)?;
                }
            }
        }
    }
    Ok(())
}

/// The buckets of school `s`, each with its rows spread over its days and,
/// when its participants are an exact total, that total split over its rows.
fn active_buckets<'p>(world: &World, plan: &'p Plan, s: usize) -> Result<Vec<Active<'p>>> {
    let mut active = Vec::new();
    for (b, bucket) in plan.buckets.iter().enumerate().filter(|(_, b)| b.school == s) {
        let mut brng = stream(world.seed, "service-days", &[s as u64, b as u64]);
        let weights: Vec<f64> =
            days(bucket.start, bucket.end).map(|d| bucket.kind.day_weight(day_kind(d), world.onsite(s, d))).collect();
        let counts = allocate(&mut brng, bucket.count, &weights);
        let exact = match bucket.participants {
            Participants::Exact { total, lo, hi } => rng::split_total(&mut brng, total, bucket.count as usize, lo, hi)
                .ok_or_else(|| Diagnostic::runtime("internal: participants that cannot be split"))?
                .into(),
            _ => VecDeque::new(),
        };
        active.push(Active { bucket, counts, exact, used: BTreeSet::new() });
    }
    Ok(active)
}

/// The case sessions of school `s`: each one's date and case (by index), in date order.
fn school_sessions(plan: &Plan, s: usize) -> Vec<(NaiveDate, usize)> {
    let mut sessions: Vec<(NaiveDate, usize)> = plan
        .cases
        .iter()
        .enumerate()
        .filter(|(_, c)| c.school == s)
        .flat_map(|(i, c)| c.sessions.iter().map(move |d| (*d, i)))
        .collect();
    sessions.sort();
    sessions
}

/// Text buffers reused for every row: the record id and the class id.
#[derive(Default)]
struct RowIds {
    record_id: String,
    class_id: String,
}

/// The service rows of one school being written, in date order: its
/// streams (one for the rows' values, one for their start times) and the
/// number of its last record.
struct SchoolServices<'a> {
    world: &'a World,
    s: usize,
    school: &'a SchoolSpec,
    /// The supervisor of the school's organisation, who may lead its workshops.
    supervisor: Option<&'a str>,
    rng: ChaCha8Rng,
    times: ChaCha8Rng,
    seq: u64,
    ids: &'a mut RowIds,
}

impl<'a> SchoolServices<'a> {
    /// The next record id of the school (`<school>-000042`), into the buffer.
    fn next_record_id(&mut self) {
        self.seq += 1;
        self.ids.record_id.clear();
        let _ = write!(self.ids.record_id, "{}-{:06}", self.school.id, self.seq);
    }

    /// One session of `case` on `date`.
    fn case_session(&mut self, case: &Case, date: NaiveDate, out: &mut Out<'_>) -> Result<()> {
        self.next_record_id();
        let school = self.school;
        out.push(&[
            Cell::Str(&self.ids.record_id),
            Cell::Str(&school.id),
            Cell::Date(date),
            Cell::Str(ServiceType::CaseSession.code()),
            Cell::Str("student"),
            Cell::Int(1),
            Cell::Student(case.student),
            Cell::Str(&case.id),
            Cell::Null,
            Cell::Str(&school.worker),
            duration(&mut self.rng, ServiceType::CaseSession),
            Cell::Null,
            Cell::Null,
            crate::times::start_time(&mut self.times, ServiceType::CaseSession, date),
        ])
    }

    /// One row of bucket `a` on `date`: its participants, student, class,
    /// topic and worker, drawn in that order.
    fn bucket_service(&mut self, a: &mut Active<'_>, date: NaiveDate, out: &mut Out<'_>) -> Result<()> {
        let ay = academic_year(date);
        self.next_record_id();
        let bucket = a.bucket;
        let kind = bucket.kind;
        let mut participants = match bucket.participants {
            Participants::Range(lo, hi) => between(&mut self.rng, lo, hi),
            Participants::Exact { lo, .. } => a.exact.pop_front().unwrap_or(lo),
            Participants::Class => 0,
        };
        let student = self.student(a, kind, ay);
        let mut has_class = false;
        let mut primary = matches!(self.school.stage, Stage::Primary);
        if kind == ServiceType::GrowthClass
            && let Some((grade, class_students)) = self.growth_class(ay)
        {
            has_class = true;
            primary = grade <= 6;
            if participants == 0 {
                participants = class_students.saturating_sub(between(&mut self.rng, 0, 3));
            }
        }
        let topics = kind.topics(primary);
        let topic = if topics.is_empty() || (kind == ServiceType::Consultation && chance(&mut self.rng, 0.3)) {
            None
        } else {
            Some(*rng::pick(&mut self.rng, topics))
        };
        let worker = self.worker(kind);
        out.push(&[
            Cell::Str(&self.ids.record_id),
            Cell::Str(&self.school.id),
            Cell::Date(date),
            Cell::Str(kind.code()),
            Cell::Str(kind.audience()),
            Cell::Int(participants.max(1) as i64),
            student.map_or(Cell::Null, Cell::Student),
            Cell::Null,
            if has_class { Cell::Str(&self.ids.class_id) } else { Cell::Null },
            Cell::Str(worker),
            duration(&mut self.rng, kind),
            opt(topic),
            Cell::Null,
            crate::times::start_time(&mut self.times, kind, date),
        ])
    }

    /// The student a row of `kind` is about, if it is about one; a bucket of
    /// distinct students tries not to name one twice.
    fn student(&mut self, a: &mut Active<'_>, kind: ServiceType, ay: i32) -> Option<Student> {
        let wants_student = match kind {
            ServiceType::ImmediateSupport | ServiceType::Consultation | ServiceType::HomeVisit => true,
            ServiceType::MailboxReply => chance(&mut self.rng, 0.65),
            ServiceType::HotlineCall => chance(&mut self.rng, 0.2),
            _ => false,
        };
        if !wants_student {
            return None;
        }
        let mut student = None;
        for _ in 0..200 {
            let st = self.world.pick_student(&mut self.rng, self.s, ay, false);
            if !a.bucket.distinct || st.is_some_and(|st| !a.used.contains(&st)) {
                student = st;
                break;
            }
        }
        if let (true, Some(st)) = (a.bucket.distinct, student) {
            a.used.insert(st);
        }
        student
    }

    /// A class for a growth class in year `ay` (its id into the buffer): its
    /// grade and number of students; `None` when the school has no roster that year.
    fn growth_class(&mut self, ay: i32) -> Option<(u8, u64)> {
        let roster = self.world.roster(self.s, ay)?;
        let weights: Vec<f64> = roster.cohorts.iter().map(|c| f64::from(c.classes)).collect();
        let cohort = roster.cohorts[rng::weighted(&mut self.rng, &weights)];
        let n = between(&mut self.rng, 1, cohort.classes.into()) as u32;
        self.ids.class_id.clear();
        self.ids.class_id.push_str(&self.world.class_id(self.s, ay, cohort.grade, n));
        Some((cohort.grade, u64::from(cohort.class_students(n))))
    }

    /// Who leads a row of `kind`: the school's worker, or for a workshop, now and then the supervisor.
    fn worker(&mut self, kind: ServiceType) -> &'a str {
        let workshop =
            matches!(kind, ServiceType::TeacherWorkshop | ServiceType::ParentWorkshop | ServiceType::JointMeeting);
        match self.supervisor {
            Some(sup) if workshop && chance(&mut self.rng, 0.3) => sup,
            _ => self.school.worker.as_str(),
        }
    }
}

const EXTREME: [(&str, f64); 4] =
    [("self_harm", 0.58), ("suicide_attempt", 0.22), ("violence", 0.18), ("suicide_death", 0.02)];

fn incident_day_weight(d: NaiveDate) -> f64 {
    match day_kind(d) {
        DayKind::School => 1.0,
        DayKind::Weekend | DayKind::Holiday => 0.6,
        DayKind::Break => 0.4,
    }
}

pub(crate) fn incidents(world: &World, out: &mut Out<'_>) -> Result<()> {
    let spec = &world.spec;
    let mut id = String::new();
    for (i, &ay) in spec.years.iter().enumerate() {
        let from = later(ay_start(ay), spec.start);
        let to = earlier(ay_end(ay), spec.end);
        if to < from {
            continue;
        }
        let mut rng = stream(world.seed, "incidents", &[ay as u64]);
        let students: Vec<f64> =
            (0..spec.schools.len()).map(|s| f64::from(world.roster(s, ay).map_or(0, |r| r.students))).collect();
        let total: f64 = students.iter().sum();
        let rate = spec.incident_rates.get(i).copied().unwrap_or(0.0);
        let extreme = (rate * total / 1000.0).round() as u64;
        let others = (extreme as f64 * 0.25).round() as u64;
        let weights: Vec<f64> = students.iter().zip(&spec.schools).map(|(n, s)| n * s.risk).collect();
        let all_days: Vec<NaiveDate> = days(from, to).collect();
        let mut cumulative = Vec::with_capacity(all_days.len());
        let mut sum = 0.0;
        for d in &all_days {
            sum += incident_day_weight(*d);
            cumulative.push(sum);
        }
        let mut rows: Vec<(usize, NaiveDate, &'static str, Option<Student>)> = Vec::new();
        for k in 0..extreme + others {
            let s = rng::weighted(&mut rng, &weights);
            let category = if k < extreme {
                EXTREME[rng::weighted(&mut rng, &EXTREME.map(|e| e.1))].0
            } else if chance(&mut rng, 0.7) {
                "runaway"
            } else {
                "other_crisis"
            };
            let date = all_days[rng::in_cumulative(&mut rng, &cumulative)];
            let student = if chance(&mut rng, 0.85) { world.pick_student(&mut rng, s, ay, false) } else { None };
            rows.push((s, date, category, student));
        }
        rows.sort();
        let mut last = usize::MAX;
        let mut seq = 0;
        for (s, date, category, student) in rows {
            if s != last {
                last = s;
                seq = 0;
            }
            seq += 1;
            id.clear();
            let _ = write!(id, "{}-I{ay}-{seq:03}", spec.schools[s].id);
            out.push(&[
                Cell::Str(&id),
                Cell::Str(&spec.schools[s].id),
                Cell::Date(date),
                Cell::Str(category),
                student.map_or(Cell::Null, Cell::Student),
            ])?;
        }
    }
    Ok(())
}

/// Pre and post scores (1–5, two decimals) with the given chance of improving.
fn scores(rng: &mut ChaCha8Rng, p_improve: f64) -> (f64, f64) {
    let pre = between(rng, 180, 360) as i64;
    let post = if chance(rng, p_improve) {
        pre + between(rng, 5, 90) as i64
    } else if chance(rng, 0.3) {
        pre
    } else {
        pre - between(rng, 5, 60) as i64
    };
    (pre as f64 / 100.0, post as f64 / 100.0)
}

pub(crate) fn outcomes(world: &World, plan: &Plan, out: &mut Out<'_>) -> Result<()> {
    let spec = &world.spec;
    let domains = ["resilience", "interpersonal", "emotion_regulation", "self_esteem"];
    let improve = |domain: &str| match (domain, spec.kind) {
        ("resilience", Kind::Project) => 0.84,
        ("resilience", _) => 0.62,
        ("interpersonal", _) => 0.55,
        ("emotion_regulation", _) => 0.64,
        _ => 0.58,
    };
    for (s, school) in spec.schools.iter().enumerate() {
        for &ay in &spec.years {
            let Some(roster) = world.roster(s, ay) else { continue };
            let mut rng = stream(world.seed, "outcomes", &[s as u64, ay as u64]);
            let groups = ((f64::from(roster.students) / 450.0).round() as u64).max(1);
            for _ in 0..groups {
                let domain = domains[rng::weighted(&mut rng, &[0.35, 0.3, 0.25, 0.1])];
                let cohort = *rng::pick(&mut rng, &roster.cohorts);
                let members = between(&mut rng, 8, 12).min(cohort.size.into());
                let mut chosen = BTreeSet::new();
                let mut order = Vec::new();
                while (chosen.len() as u64) < members {
                    if let Some(st) = world.pick_in_grade(&mut rng, s, ay, cohort.grade)
                        && chosen.insert(st)
                    {
                        order.push(st);
                    }
                }
                for st in order {
                    let (pre, post) = scores(&mut rng, improve(domain));
                    out.push(&[
                        Cell::Student(st),
                        Cell::Str(&school.id),
                        Cell::Int(ay.into()),
                        Cell::Str(domain),
                        Cell::Float(pre),
                        Cell::Float(post),
                    ])?;
                }
            }
            // Students whose red or orange case closed this year.
            for case in plan.cases.iter().filter(|c| c.school == s && c.initial != Tier::Green) {
                if case.closed.is_some_and(|d| academic_year(d) == ay) {
                    let (pre, post) = scores(&mut rng, 0.7);
                    out.push(&[
                        Cell::Student(case.student),
                        Cell::Str(&school.id),
                        Cell::Int(ay.into()),
                        Cell::Str("emotion_regulation"),
                        Cell::Float(pre),
                        Cell::Float(post),
                    ])?;
                }
            }
        }
    }
    Ok(())
}

pub(crate) fn attendance(world: &World, out: &mut Out<'_>) -> Result<()> {
    let spec = &world.spec;
    for (s, school) in spec.schools.iter().enumerate() {
        let supervisor = school.org.map(|o| spec.orgs[o].supervisor.as_str());
        for (i, date) in world.dates().enumerate() {
            if !world.onsite(s, date) {
                continue;
            }
            out.push(&[Cell::Str(&school.worker), Cell::Str(&school.id), Cell::Date(date)])?;
            if let Some(sup) = supervisor
                && unit(hash(world.seed, "visit", &[s as u64, i as u64])) < 0.07
            {
                out.push(&[Cell::Str(sup), Cell::Str(&school.id), Cell::Date(date)])?;
            }
        }
    }
    Ok(())
}

pub(crate) fn centres(world: &World, out: &mut Out<'_>) -> Result<()> {
    let spec = &world.spec;
    for centre in prevention::centres(spec) {
        let d = &spec.districts[centre.district];
        out.push(&[
            Cell::Str(&centre.id),
            Cell::Str(&centre.name),
            Cell::Str(&d.id),
            Cell::Str(&d.name),
            Cell::Str(&d.city),
            Cell::Null,
        ])?;
    }
    Ok(())
}

/// The centres' own services: rows of the `services` contract with
/// `centre_id` instead of `school_id`, numbered `<centre_id>-NNNNNN` by date.
pub(crate) fn centre_services(world: &World, plan: &Plan, out: &mut Out<'_>) -> Result<()> {
    let mut record_id = String::new();
    for (c, centre) in prevention::centres(&world.spec).iter().enumerate() {
        let mut times = stream(world.seed, "centre-service-times", &[c as u64]);
        let events = prevention::centre_events(world, &plan.cases, &plan.loops, centre);
        for (seq, e) in events.iter().enumerate() {
            record_id.clear();
            let _ = write!(record_id, "{}-{:06}", centre.id, seq + 1);
            out.push(&[
                Cell::Str(&record_id),
                Cell::Null,
                Cell::Date(e.date),
                Cell::Str(e.kind.code()),
                Cell::Str(e.audience),
                Cell::Int(1),
                e.student.map_or(Cell::Null, Cell::Student),
                Cell::Null,
                Cell::Null,
                Cell::Str(&centre.counsellors[e.counsellor]),
                Cell::Int(e.minutes as i64),
                opt(e.topic),
                Cell::Str(&centre.id),
                crate::times::start_time(&mut times, e.kind, e.date),
            ])?;
        }
    }
    Ok(())
}

/// The follow-up actions: those of each case (`<case_id>-F01` …, in case
/// order: after a crisis, a referral to hospital or a leave from school),
/// then the `other` follow-ups of high screenings (`<screening_id>-F01`).
pub(crate) fn followups(world: &World, plan: &Plan, out: &mut Out<'_>) -> Result<()> {
    let spec = &world.spec;
    let centres = prevention::centres(spec);
    let mut id = String::new();
    for (i, (case, lp)) in plan.cases.iter().zip(&plan.loops).enumerate() {
        let school = &spec.schools[case.school];
        let centre = &centres[school.district];
        for (n, action) in prevention::case_followups(world, i, case, lp).iter().enumerate() {
            id.clear();
            let _ = write!(id, "{}-F{:02}", case.id, n + 1);
            let worker = match action.taker {
                Taker::SchoolWorker => school.worker.as_str(),
                Taker::Counsellor(k) => centre.counsellors[k].as_str(),
            };
            out.push(&[
                Cell::Str(&id),
                Cell::Str(&case.id),
                Cell::Null,
                Cell::Str(action.kind),
                date_cell(action.due),
                date_cell(action.done),
                Cell::Str(worker),
            ])?;
        }
    }
    let mut current = (usize::MAX, i32::MIN);
    let mut rng = None;
    each_screening(world, |r| {
        if r.level != "high" {
            return Ok(());
        }
        if current != (r.school, r.academic_year) {
            current = (r.school, r.academic_year);
            rng = Some(stream(world.seed, "followups-screenings", &[r.school as u64, r.academic_year as u64]));
        }
        let Some(rng) = rng.as_mut() else { return Ok(()) };
        let Some(date) = prevention::screening_followup(rng, r.screened_on, spec.end) else { return Ok(()) };
        id.clear();
        let _ = write!(id, "{}-F01", r.id);
        out.push(&[
            Cell::Str(&id),
            Cell::Null,
            Cell::Str(r.id),
            Cell::Str(prevention::kind::OTHER),
            Cell::Null,
            Cell::Date(date),
            Cell::Str(&spec.schools[r.school].worker),
        ])
    })
}
