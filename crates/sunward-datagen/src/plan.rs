//! The plan of the service and case tables: how many events of each type each
//! school gets in each period ([`Bucket`]s), every case with the dates of
//! its sessions ([`Case`]s), and each case's path through the prevention
//! loop ([`CaseLoop`], drawn in [`crate::prevention`] from streams of its own).
//!
//! Planning happens before any row is written, and holds only counts and the
//! (small) case list, so the services table can then be streamed day by day.
//! The `project` preset plans calendar 2025 with exact totals (its review's
//! figures); district presets plan each academic year from per-student rates.

use crate::calendar::{DayKind, academic_year, ay_end, ay_start, day_kind, days, earlier, later, ymd};
use crate::rng::{self, between, chance, uniform};
use crate::spec::{Consultations, Kind, Spec};
use crate::world::{Roster, Student, World};
use chrono::{Datelike, NaiveDate};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeSet;
use sunward_core::{Diagnostic, Result};

/// A service type (`services.service_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ServiceType {
    /// 个案辅导.
    CaseSession,
    /// 个别化关爱.
    ImmediateSupport,
    /// 社工信箱回信.
    MailboxReply,
    /// 小组活动.
    GroupSession,
    /// 成长课堂.
    GrowthClass,
    /// 心理委员培训.
    CommitteeTraining,
    /// 教师工作坊.
    TeacherWorkshop,
    /// 家长工作坊.
    ParentWorkshop,
    /// 心理咨询.
    Consultation,
    /// 热线咨询.
    HotlineCall,
    /// 家访.
    HomeVisit,
    /// 家校社联席会议.
    JointMeeting,
    /// 心理游园会.
    CampusEvent,
}

impl ServiceType {
    /// The contract code.
    pub fn code(self) -> &'static str {
        use ServiceType::*;
        match self {
            CaseSession => "case_session",
            ImmediateSupport => "immediate_support",
            MailboxReply => "mailbox_reply",
            GroupSession => "group_session",
            GrowthClass => "growth_class",
            CommitteeTraining => "committee_training",
            TeacherWorkshop => "teacher_workshop",
            ParentWorkshop => "parent_workshop",
            Consultation => "consultation",
            HotlineCall => "hotline_call",
            HomeVisit => "home_visit",
            JointMeeting => "joint_meeting",
            CampusEvent => "campus_event",
        }
    }

    /// The audience code.
    pub fn audience(self) -> &'static str {
        use ServiceType::*;
        match self {
            CommitteeTraining => "committee",
            TeacherWorkshop => "teacher",
            ParentWorkshop | HomeVisit => "parent",
            HotlineCall | JointMeeting => "mixed",
            _ => "student",
        }
    }

    /// Minutes an event usually lasts.
    pub fn duration(self) -> (u64, u64) {
        use ServiceType::*;
        match self {
            CaseSession | Consultation => (40, 60),
            ImmediateSupport => (15, 30),
            MailboxReply => (15, 25),
            GroupSession => (60, 90),
            GrowthClass => (40, 45),
            CommitteeTraining | TeacherWorkshop | ParentWorkshop => (60, 120),
            HotlineCall => (15, 45),
            HomeVisit => (60, 120),
            JointMeeting => (90, 150),
            CampusEvent => (120, 180),
        }
    }

    /// Topics an event may carry (none: no topic).
    pub fn topics(self, primary: bool) -> &'static [&'static str] {
        use ServiceType::*;
        match self {
            GrowthClass if primary => {
                &["生命教育", "情绪管理", "人际交往", "校园欺凌防范", "安全自护", "感恩与责任", "青春期性教育"]
            }
            GrowthClass => &[
                "生命教育",
                "青春期性教育",
                "校园欺凌防范",
                "情绪管理",
                "人际交往",
                "考试减压",
                "网络素养",
                "生涯规划",
            ],
            GroupSession => &["抗逆力成长小组", "社交成长小组", "情绪管理小组", "自我接纳小组"],
            CommitteeTraining => &["心理危机识别与报告", "同伴支持与倾听", "班级心理委员职责"],
            TeacherWorkshop => &["学生心理危机识别与应对", "教师压力调适", "班级心理氛围营造", "与家长有效沟通"],
            ParentWorkshop => &["亲子沟通", "读懂孩子的情绪", "科学家庭教育", "手机使用与家庭规则"],
            Consultation => &["学业压力", "人际关系", "情绪困扰", "亲子关系", "自我认识"],
            JointMeeting => &["家校社协同共育联席会议"],
            CampusEvent => &["心理游园会", "心理健康开放日"],
            _ => &[],
        }
    }

    /// How likely an event of this type is on a day of this kind, relative to a
    /// school day with the worker on site.
    pub fn day_weight(self, kind: DayKind, onsite: bool) -> f64 {
        use ServiceType::*;
        match kind {
            DayKind::School if onsite => 1.0,
            DayKind::School => 0.12,
            DayKind::Holiday => 0.003,
            DayKind::Break => match self {
                HotlineCall => 0.5,
                MailboxReply | ImmediateSupport | CaseSession | HomeVisit | Consultation => 0.02,
                _ => 0.0,
            },
            DayKind::Weekend => match self {
                HotlineCall => 0.4,
                ParentWorkshop => 0.15,
                CampusEvent => 0.05,
                _ => 0.004,
            },
        }
    }
}

/// How the participants of a bucket's events are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Participants {
    /// Each event's head count in `lo..=hi`.
    Range(u64, u64),
    /// The events' head counts add up to exactly this, each in `lo..=hi`.
    Exact { total: u64, lo: u64, hi: u64 },
    /// The students of the class the event is held for, less a few absent.
    Class,
}

/// Events of one type at one school within a date range.
#[derive(Debug, Clone)]
pub struct Bucket {
    /// School index.
    pub school: usize,
    /// Type.
    pub kind: ServiceType,
    /// First date.
    pub start: NaiveDate,
    /// Last date.
    pub end: NaiveDate,
    /// Number of events.
    pub count: u64,
    /// Head counts.
    pub participants: Participants,
    /// Each event for a different student.
    pub distinct: bool,
}

/// A three-colour tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    /// 红色应急.
    Red,
    /// 橙色重点.
    Orange,
    /// 绿色预防.
    Green,
}

impl Tier {
    /// The contract code.
    pub fn code(self) -> &'static str {
        match self {
            Tier::Red => "red",
            Tier::Orange => "orange",
            Tier::Green => "green",
        }
    }
    /// Fewest and most sessions a case of this tier gets.
    fn sessions(self) -> (u64, u64) {
        match self {
            Tier::Red => (10, 35),
            Tier::Orange => (3, 15),
            Tier::Green => (1, 6),
        }
    }
}

/// One case with its sessions.
#[derive(Debug, Clone)]
pub struct Case {
    /// `case_id`.
    pub id: String,
    /// School index.
    pub school: usize,
    /// The student.
    pub student: Student,
    /// `opened_on`.
    pub opened: NaiveDate,
    /// `closed_on` (`None`: still open).
    pub closed: Option<NaiveDate>,
    /// `initial_tier`.
    pub initial: Tier,
    /// `final_tier`.
    pub final_tier: Option<Tier>,
    /// `primary_issue`.
    pub issue: &'static str,
    /// `outcome`.
    pub outcome: &'static str,
    /// `referred_to`.
    pub referred: Option<&'static str>,
    /// Session dates, sorted; the first is `opened`.
    pub sessions: Vec<NaiveDate>,
}

/// The path of one case through the loop (the new columns of `cases`, and
/// the centre's contacts that came before a hotline or walk-in case).
#[derive(Debug, Clone, Default)]
pub struct CaseLoop {
    /// `channel`.
    pub channel: &'static str,
    /// `crisis_on`.
    pub crisis: Option<NaiveDate>,
    /// `referred_on` (set when the case's `referred_to` is).
    pub referred: Option<NaiveDate>,
    /// `leave_on`.
    pub leave: Option<NaiveDate>,
    /// `returned_on`.
    pub returned: Option<NaiveDate>,
    /// The student's hotline call before a `hotline` case was opened.
    pub hotline_call: Option<NaiveDate>,
    /// The student's consultation at the centre before a `hotline` or `walk_in` case was opened.
    pub centre_consultation: Option<NaiveDate>,
}

/// The plan.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Service buckets (case sessions excepted), in generation order.
    pub buckets: Vec<Bucket>,
    /// Cases, by school and opening date.
    pub cases: Vec<Case>,
    /// The loop of each case, in the order of `cases`.
    pub loops: Vec<CaseLoop>,
}

/// Screening latent above which a screening is `high`, `key`, `general`.
pub const HIGH: f64 = 2.17;
/// See [`HIGH`].
pub const KEY: f64 = 1.645;
/// See [`HIGH`].
pub const GENERAL: f64 = 0.84;

/// The case-session figure of the project in calendar 2025.
pub const PROJECT_CASE_SESSIONS_2025: u64 = 134;

/// Plan the services and cases of the world. Their loops (`loops`) are left
/// empty: [`crate::prevention::case_loops`] draws them, and
/// [`crate::plan_world`] does both.
pub fn plan(world: &World) -> Result<Plan> {
    match world.spec.kind {
        Kind::Project => project_plan(world),
        Kind::District => district_plan(world),
    }
}

// ------------------------------------------------------------------- district

fn district_plan(world: &World) -> Result<Plan> {
    let spec = &world.spec;
    // Expected volumes per bucket first (with their jitter), then counts.
    let mut buckets = Vec::new();
    let mut expected = Vec::new();
    for &ay in &spec.years {
        let start = later(ay_start(ay), spec.start);
        let end = earlier(ay_end(ay), spec.end);
        let consultation_total = consultation_split(world, ay);
        for s in 0..spec.schools.len() {
            let Some(roster) = world.roster(s, ay) else { continue };
            let mut rng = rng::stream(world.seed, "plan", &[s as u64, ay as u64]);
            for (kind, rate, participants) in school_rates(spec, roster) {
                let fixed = match (&consultation_total, kind) {
                    (Some(split), ServiceType::Consultation) => Some(split[s]),
                    _ => None,
                };
                let jittered = rate * uniform(&mut rng, 0.8, 1.2);
                expected.push((fixed, jittered));
                buckets.push(Bucket { school: s, kind, start, end, count: 0, participants, distinct: false });
            }
        }
    }
    let cases = district_cases(world, spec.case_rate * case_factor(world, &expected))?;
    let case_sessions: u64 = cases.iter().map(|c| c.sessions.len() as u64).sum();
    set_counts(spec, &mut buckets, &expected, case_sessions)?;
    buckets.retain(|b| b.count > 0);
    Ok(Plan { buckets, cases, loops: Vec::new() })
}

/// With a district total of consultations: that total for year `ay`, split
/// over the schools by their students (jittered), from the year's stream.
fn consultation_split(world: &World, ay: i32) -> Option<Vec<u64>> {
    let spec = &world.spec;
    match spec.consultations {
        Consultations::DistrictTotal(lo, hi) => {
            let mut rng = rng::stream(world.seed, "consultations", &[ay as u64]);
            let total = between(&mut rng, lo, hi);
            let weights: Vec<f64> = (0..spec.schools.len())
                .map(|s| f64::from(world.roster(s, ay).map_or(0, |r| r.students)) * uniform(&mut rng, 0.7, 1.3))
                .collect();
            Some(rng::apportion(total, &weights))
        }
        Consultations::PerStudent(_) => None,
    }
}

/// The expected rows a year of each service of a school with `roster`
/// (before jitter), and how many take part in each.
fn school_rates(spec: &Spec, roster: &Roster) -> [(ServiceType, f64, Participants); 12] {
    use ServiceType::*;
    let n = f64::from(roster.students);
    let classes = f64::from(roster.classes);
    [
        (ImmediateSupport, n * 0.025, Participants::Range(1, 1)),
        (MailboxReply, n * 0.03, Participants::Range(1, 1)),
        (GroupSession, n * 0.012, Participants::Range(6, 12)),
        (GrowthClass, classes * 0.7, Participants::Class),
        (CommitteeTraining, 3.0, Participants::Range((roster.classes / 2).max(4).into(), roster.classes.max(6).into())),
        (TeacherWorkshop, 3.0, Participants::Range(12, 45)),
        (ParentWorkshop, 2.0, Participants::Range(30, 300)),
        (
            Consultation,
            match spec.consultations {
                Consultations::PerStudent(rate) => n * rate,
                Consultations::DistrictTotal(..) => 0.0,
            },
            Participants::Range(1, 1),
        ),
        (HotlineCall, n * 0.005, Participants::Range(1, 1)),
        (HomeVisit, n * 0.004, Participants::Range(1, 3)),
        (JointMeeting, 4.0, Participants::Range(6, 15)),
        (CampusEvent, 1.5, Participants::Range(150, u64::from(roster.students.clamp(200, 1500)))),
    ]
}

/// How much to scale the case rate by: fewer cases when an exact small
/// number of service rows is asked for (`expected`: each bucket's fixed or
/// expected rows).
fn case_factor(world: &World, expected: &[(Option<u64>, f64)]) -> f64 {
    let spec = &world.spec;
    let base_other: f64 = expected.iter().map(|(f, e)| f.map_or(*e, |f| f as f64)).sum();
    let students: f64 = spec
        .years
        .iter()
        .flat_map(|ay| (0..spec.schools.len()).map(move |s| (s, *ay)))
        .map(|(s, ay)| f64::from(world.roster(s, ay).map_or(0, |r| r.students)))
        .sum();
    let case_sessions_expected = students * spec.case_rate * 8.5;
    match spec.service_rows {
        Some(rows) => (rows as f64 / (base_other + case_sessions_expected).max(1.0)).min(1.0),
        None => 1.0,
    }
}

/// Each bucket's row count: the service rows asked for, less the case
/// sessions, apportioned by the expected rows; or else the expected rows
/// scaled (a fixed count as it is).
fn set_counts(spec: &Spec, buckets: &mut [Bucket], expected: &[(Option<u64>, f64)], case_sessions: u64) -> Result<()> {
    match spec.service_rows {
        Some(rows) => {
            if case_sessions > rows {
                return Err(Diagnostic::invalid(format!(
                    "--service-rows {rows} is fewer than the {case_sessions} case sessions of these schools"
                ))
                .hint("ask for more rows, or for fewer schools or years"));
            }
            let weights: Vec<f64> = expected.iter().map(|(f, e)| f.map_or(*e, |f| f as f64)).collect();
            for (bucket, count) in buckets.iter_mut().zip(rng::apportion(rows - case_sessions, &weights)) {
                bucket.count = count;
            }
        }
        None => {
            for (bucket, (fixed, e)) in buckets.iter_mut().zip(expected) {
                bucket.count = fixed.unwrap_or_else(|| (e * spec.scale).round() as u64);
            }
        }
    }
    Ok(())
}

fn pick_tier(rng: &mut ChaCha8Rng) -> Tier {
    [Tier::Red, Tier::Orange, Tier::Green][rng::weighted(rng, &[0.12, 0.40, 0.48])]
}

fn district_cases(world: &World, rate: f64) -> Result<Vec<Case>> {
    let spec = &world.spec;
    let mut cases = Vec::new();
    for s in 0..spec.schools.len() {
        for &ay in &spec.years {
            let Some(roster) = world.roster(s, ay) else { continue };
            let mut rng = rng::stream(world.seed, "cases", &[s as u64, ay as u64]);
            let n = (f64::from(roster.students) * rate * uniform(&mut rng, 0.8, 1.2)).round() as u64;
            // Students flagged by this year's screening, who are often the ones referred to a social worker.
            let flagged: Vec<(Student, f64)> = if n > 0 { flagged_students(world, s, ay) } else { Vec::new() };
            let open_from = later(ay_start(ay) + chrono::Days::new(9), spec.start);
            let open_to = earlier(ymd(ay + 1, 6, 30), spec.end);
            if open_to < open_from {
                continue;
            }
            for _ in 0..n {
                let tier = pick_tier(&mut rng);
                let opened =
                    pick_day(world, &mut rng, s, open_from, open_to, ServiceType::CaseSession, &BTreeSet::new())
                        .unwrap_or(open_from);
                let length = match tier {
                    Tier::Red => between(&mut rng, 60, 240),
                    Tier::Orange => between(&mut rng, 30, 150),
                    Tier::Green => between(&mut rng, 14, 75),
                };
                let planned_close = opened + chrono::Days::new(length);
                let closed = (planned_close <= spec.end).then_some(planned_close);
                let staying = closed.is_none_or(|c| c > ay_end(ay));
                let wanted = match tier {
                    Tier::Red => KEY,
                    _ => GENERAL,
                };
                let from_screening: Vec<&(Student, f64)> =
                    flagged.iter().filter(|(st, z)| *z > wanted && (!staying || !last_grade(world, *st, ay))).collect();
                let student = if !from_screening.is_empty() && chance(&mut rng, 0.6) {
                    rng::pick(&mut rng, &from_screening).0
                } else {
                    match world.pick_student(&mut rng, s, ay, staying) {
                        Some(st) => st,
                        None => continue,
                    }
                };
                let (lo, hi) = tier.sessions();
                let n_sessions = match tier {
                    Tier::Orange => between(&mut rng, 4, 12),
                    _ => between(&mut rng, lo, hi),
                };
                let window_end = earlier(planned_close, spec.end);
                let sessions = session_days(world, &mut rng, s, opened, window_end, n_sessions);
                cases.push(finish_case(&mut rng, s, student, opened, closed, tier, sessions));
            }
        }
    }
    number_cases(world, &mut cases);
    Ok(cases)
}

fn last_grade(world: &World, student: Student, ay: i32) -> bool {
    let last = world.spec.schools[usize::from(student.school)].stage.grades().1;
    world.placement(student, ay).is_some_and(|(g, _)| g == last)
}

/// Students of school `s` whose screening latent in `ay` is at least `general`, with the latent.
pub fn flagged_students(world: &World, s: usize, ay: i32) -> Vec<(Student, f64)> {
    let Some(roster) = world.roster(s, ay) else { return Vec::new() };
    let mut out = Vec::new();
    for c in &roster.cohorts {
        for serial in 0..c.size {
            let st = Student { school: s as u16, entry: c.entry as i16, serial };
            let z = world.latent(st, ay);
            if z > GENERAL {
                out.push((st, z));
            }
        }
    }
    out
}

/// A day in `from..=to` for an event of `kind` at school `s`, weighted by the
/// kind of day, avoiding `taken`.
fn pick_day(
    world: &World,
    rng: &mut ChaCha8Rng,
    s: usize,
    from: NaiveDate,
    to: NaiveDate,
    kind: ServiceType,
    taken: &BTreeSet<NaiveDate>,
) -> Option<NaiveDate> {
    let candidates: Vec<(NaiveDate, f64)> = days(from, to)
        .filter(|d| !taken.contains(d))
        .map(|d| {
            let w = if kind == ServiceType::CaseSession {
                case_day_weight(world, s, d)
            } else {
                kind.day_weight(day_kind(d), world.onsite(s, d))
            };
            (d, w)
        })
        .filter(|(_, w)| *w > 0.0)
        .collect();
    if candidates.is_empty() {
        return None;
    }
    let weights: Vec<f64> = candidates.iter().map(|c| c.1).collect();
    Some(candidates[rng::weighted(rng, &weights)].0)
}

/// Case sessions: on site days first, other school days now and then, breaks rarely.
fn case_day_weight(world: &World, s: usize, d: NaiveDate) -> f64 {
    match day_kind(d) {
        DayKind::School if world.onsite(s, d) => 1.0,
        DayKind::School => 0.15,
        DayKind::Break => 0.03,
        _ => 0.0,
    }
}

/// `n` distinct session days: `opened` and `n − 1` more in `(opened, last]`.
fn session_days(
    world: &World,
    rng: &mut ChaCha8Rng,
    s: usize,
    opened: NaiveDate,
    last: NaiveDate,
    n: u64,
) -> Vec<NaiveDate> {
    let mut taken = BTreeSet::from([opened]);
    let from = opened + chrono::Days::new(1);
    for _ in 1..n {
        if from > last {
            break;
        }
        match pick_day(world, rng, s, from, last, ServiceType::CaseSession, &taken) {
            Some(d) => {
                taken.insert(d);
            }
            None => break,
        }
    }
    taken.into_iter().collect()
}

fn finish_case(
    rng: &mut ChaCha8Rng,
    school: usize,
    student: Student,
    opened: NaiveDate,
    closed: Option<NaiveDate>,
    initial: Tier,
    sessions: Vec<NaiveDate>,
) -> Case {
    let issue = match initial {
        Tier::Red => {
            *rng::pick(rng, &["self_harm_risk", "self_harm_risk", "suicidal_ideation", "depression", "school_refusal"])
        }
        Tier::Orange => *rng::pick(
            rng,
            &[
                "depression",
                "anxiety",
                "school_refusal",
                "family_conflict",
                "bullying",
                "peer_relationship",
                "academic_stress",
                "internet_dependence",
            ],
        ),
        Tier::Green => *rng::pick(
            rng,
            &["peer_relationship", "academic_stress", "family_conflict", "internet_dependence", "anxiety", "other"],
        ),
    };
    let referred = match initial {
        Tier::Red if chance(rng, 0.4) => Some(*rng::pick(
            rng,
            &["psychiatric_hospital", "psychiatric_hospital", "mental_health_centre", "district_centre"],
        )),
        Tier::Orange if chance(rng, 0.1) => {
            Some(*rng::pick(rng, &["district_centre", "mental_health_centre", "other"]))
        }
        _ => None,
    };
    let (final_tier, outcome) = match closed {
        None => {
            let review = match initial {
                Tier::Red => [Tier::Red, Tier::Orange][rng::weighted(rng, &[0.6, 0.4])],
                t => t,
            };
            (chance(rng, 0.6).then_some(review), "ongoing")
        }
        Some(_) => {
            let final_tier = match initial {
                Tier::Red => [Tier::Red, Tier::Orange, Tier::Green][rng::weighted(rng, &[0.2, 0.45, 0.35])],
                Tier::Orange => [Tier::Red, Tier::Orange, Tier::Green][rng::weighted(rng, &[0.05, 0.35, 0.6])],
                Tier::Green => Tier::Green,
            };
            let outcome = if referred.is_some() && chance(rng, 0.5) {
                "referred"
            } else {
                ["improved", "stable", "transferred", "withdrawn"][rng::weighted(rng, &[0.62, 0.28, 0.05, 0.05])]
            };
            (Some(final_tier), outcome)
        }
    };
    Case { id: String::new(), school, student, opened, closed, initial, final_tier, issue, outcome, referred, sessions }
}

/// Sort by school and opening date and number them `SCHOOL-C<AY>-NNN`.
fn number_cases(world: &World, cases: &mut [Case]) {
    cases.sort_by_key(|c| (c.school, c.opened, c.student));
    let mut last: Option<(usize, i32)> = None;
    let mut seq = 0;
    for c in cases.iter_mut() {
        let key = (c.school, academic_year(c.opened));
        if last != Some(key) {
            seq = 0;
            last = Some(key);
        }
        seq += 1;
        c.id = format!("{}-C{}-{seq:03}", world.spec.schools[c.school].id, key.1);
    }
}

// -------------------------------------------------------------------- project

/// A case of the project: school, tier, opening window, closing window (none:
/// still open at the end of 2025), session range, and the earlier case whose
/// student it is again.
struct Template {
    school: usize,
    tier: Tier,
    open: (NaiveDate, NaiveDate),
    close: Option<(NaiveDate, NaiveDate)>,
    sessions: (u64, u64),
    same_student_as: Option<usize>,
}

/// A window of dates within one year: (month, day) to (month, day), year.
type Span = ((u32, u32), (u32, u32), i32);

fn t(school: usize, tier: Tier, open: Span, close: Option<Span>, sessions: (u64, u64)) -> Template {
    let span = |((m1, d1), (m2, d2), y): Span| (ymd(y, m1, d1), ymd(y, m2, d2));
    Template { school, tier, open: span(open), close: close.map(span), sessions, same_student_as: None }
}

fn project_templates() -> Vec<Template> {
    use Tier::{Green, Orange, Red};
    let mut list = vec![
        // Red (高危): one closed before 2025, eleven active in 2025 for ten students.
        t(0, Red, ((9, 9), (9, 20), 2024), Some(((12, 2), (12, 20), 2024)), (10, 12)),
        t(0, Red, ((9, 16), (10, 15), 2024), Some(((1, 6), (1, 16), 2025)), (12, 16)),
        t(0, Red, ((10, 8), (11, 8), 2024), Some(((3, 10), (4, 25), 2025)), (14, 20)),
        t(1, Red, ((11, 4), (12, 6), 2024), Some(((5, 12), (6, 20), 2025)), (12, 18)),
        t(0, Red, ((9, 9), (9, 27), 2024), Some(((2, 24), (3, 14), 2025)), (16, 18)),
        t(0, Red, ((1, 2), (1, 10), 2025), Some(((6, 23), (6, 30), 2025)), (30, 33)),
        t(1, Red, ((3, 3), (4, 11), 2025), Some(((6, 16), (7, 4), 2025)), (10, 12)),
        t(1, Red, ((9, 8), (9, 26), 2025), None, (10, 12)),
        t(0, Red, ((10, 8), (10, 24), 2025), None, (10, 11)),
        t(0, Red, ((5, 6), (5, 23), 2025), Some(((11, 3), (11, 28), 2025)), (10, 14)),
        t(1, Red, ((11, 4), (11, 29), 2024), Some(((3, 3), (3, 28), 2025)), (12, 16)),
        t(0, Red, ((10, 13), (10, 31), 2025), None, (10, 12)),
        // Orange (重点) and green (预防).
        t(1, Orange, ((9, 23), (10, 18), 2024), Some(((12, 2), (12, 27), 2024)), (4, 6)),
        t(0, Orange, ((3, 3), (3, 21), 2025), Some(((5, 12), (5, 30), 2025)), (4, 6)),
        t(1, Orange, ((10, 13), (10, 31), 2025), None, (3, 5)),
        t(0, Green, ((11, 4), (11, 22), 2024), Some(((1, 6), (1, 17), 2025)), (2, 3)),
        t(1, Green, ((4, 7), (4, 25), 2025), Some(((5, 19), (6, 6), 2025)), (2, 3)),
        t(0, Green, ((9, 15), (9, 30), 2025), Some(((10, 20), (11, 7), 2025)), (1, 3)),
    ];
    list[11].same_student_as = Some(2);
    list
}

fn project_plan(world: &World) -> Result<Plan> {
    let mut rng = rng::stream(world.seed, "project-cases", &[]);
    let year_start = ymd(2025, 1, 1);
    let year_end = ymd(2025, 12, 31);
    let templates = project_templates();
    let mut cases: Vec<Case> = Vec::new();
    let mut red_students = BTreeSet::new();
    for (index, tpl) in templates.iter().enumerate() {
        let opened =
            pick_day(world, &mut rng, tpl.school, tpl.open.0, tpl.open.1, ServiceType::CaseSession, &BTreeSet::new())
                .unwrap_or(tpl.open.0);
        let closed = tpl.close.map(|(a, b)| {
            pick_day(world, &mut rng, tpl.school, a, b, ServiceType::CaseSession, &BTreeSet::new()).unwrap_or(a)
        });
        let ay = academic_year(opened);
        let student = match tpl.same_student_as {
            Some(i) => cases[i].student,
            None => loop {
                let reopened_later = templates.iter().any(|o| o.same_student_as == Some(index));
                let staying = closed.is_none_or(|c| c > ay_end(ay)) || reopened_later;
                let Some(st) = world.pick_student(&mut rng, tpl.school, ay, staying) else {
                    return Err(Diagnostic::runtime("internal: the project has no students"));
                };
                if tpl.tier != Tier::Red || red_students.insert(st) {
                    break st;
                }
            },
        };
        let n = between(&mut rng, tpl.sessions.0, tpl.sessions.1);
        let last = closed.unwrap_or(world.spec.end);
        let sessions = session_days(world, &mut rng, tpl.school, opened, last, n);
        cases.push(finish_case(&mut rng, tpl.school, student, opened, closed, tpl.tier, sessions));
    }
    // Exactly PROJECT_CASE_SESSIONS_2025 sessions dated in 2025: add or remove sessions in 2025,
    // keeping every case within its tier's range and its first session on its opening day.
    let in_year = |c: &Case| c.sessions.iter().filter(|d| d.year() == 2025).count() as u64;
    let mut total: u64 = cases.iter().map(in_year).sum();
    while total != PROJECT_CASE_SESSIONS_2025 {
        let adding = total < PROJECT_CASE_SESSIONS_2025;
        let candidates: Vec<usize> = (0..cases.len())
            .filter(|i| {
                let c = &cases[*i];
                let (lo, hi) = c.initial.sessions();
                let n = c.sessions.len() as u64;
                if adding {
                    n < hi && window_2025(c, world.spec.end).is_some_and(|(from, to)| has_free_day(world, c, from, to))
                } else {
                    n > lo && c.sessions.iter().skip(1).any(|d| d.year() == 2025)
                }
            })
            .collect();
        if candidates.is_empty() {
            return Err(Diagnostic::runtime("internal: cannot fit the project's case sessions to its 2025 figure"));
        }
        let i = *rng::pick(&mut rng, &candidates);
        let case = &mut cases[i];
        if adding {
            let (from, to) = window_2025(case, world.spec.end).unwrap_or((year_start, year_end));
            let taken: BTreeSet<NaiveDate> = case.sessions.iter().copied().collect();
            match pick_day(world, &mut rng, case.school, from, to, ServiceType::CaseSession, &taken) {
                Some(d) => {
                    case.sessions.push(d);
                    case.sessions.sort();
                    total += 1;
                }
                None => continue,
            }
        } else {
            let in_2025: Vec<usize> = (1..case.sessions.len()).filter(|k| case.sessions[*k].year() == 2025).collect();
            let k = *rng::pick(&mut rng, &in_2025);
            case.sessions.remove(k);
            total -= 1;
        }
    }
    number_cases(world, &mut cases);
    Ok(Plan { buckets: project_buckets(world)?, cases, loops: Vec::new() })
}

/// The part of 2025 in which a case can get another session: after its opening
/// day, until it closed (or the end of the data).
fn window_2025(case: &Case, end: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let from = later(case.opened + chrono::Days::new(1), ymd(2025, 1, 1));
    let to = earlier(case.closed.unwrap_or(end), ymd(2025, 12, 31));
    (from <= to && days(from, to).any(|d| day_kind(d) == DayKind::School)).then_some((from, to))
}

/// Whether a case has a day in `from..=to` without a session on which it could have one.
fn has_free_day(world: &World, case: &Case, from: NaiveDate, to: NaiveDate) -> bool {
    days(from, to).any(|d| !case.sessions.contains(&d) && case_day_weight(world, case.school, d) > 0.0)
}

/// The project's review figures for calendar 2025: type, events, participants, per-event range.
pub const PROJECT_2025: [(ServiceType, u64, u64, u64, u64); 7] = [
    (ServiceType::ImmediateSupport, 86, 86, 1, 1),
    (ServiceType::MailboxReply, 211, 211, 1, 1),
    (ServiceType::GroupSession, 34, 351, 6, 14),
    (ServiceType::GrowthClass, 23, 2913, 30, 330),
    (ServiceType::CommitteeTraining, 3, 36, 8, 16),
    (ServiceType::TeacherWorkshop, 4, 81, 12, 30),
    (ServiceType::ParentWorkshop, 2, 426, 120, 320),
];

fn project_buckets(world: &World) -> Result<Vec<Bucket>> {
    let mut rng = rng::stream(world.seed, "project-services", &[]);
    let mut buckets = Vec::new();
    // Autumn 2024, before the figures' year: the same kinds of work at a lower pace.
    let (a, b) = (ymd(2024, 9, 1), ymd(2024, 12, 31));
    use ServiceType::*;
    let autumn: [(ServiceType, [u64; 2], Participants); 9] = [
        (ImmediateSupport, [14, 12], Participants::Range(1, 1)),
        (MailboxReply, [38, 30], Participants::Range(1, 1)),
        (GroupSession, [6, 5], Participants::Range(8, 12)),
        (GrowthClass, [5, 4], Participants::Range(40, 180)),
        (CommitteeTraining, [1, 0], Participants::Range(10, 14)),
        (TeacherWorkshop, [1, 0], Participants::Range(15, 25)),
        (ParentWorkshop, [0, 1], Participants::Range(150, 260)),
        (CampusEvent, [0, 1], Participants::Range(600, 1200)),
        (JointMeeting, [1, 1], Participants::Range(8, 12)),
    ];
    for (kind, counts, participants) in autumn {
        for (school, count) in counts.into_iter().enumerate() {
            if count > 0 {
                buckets.push(Bucket { school, kind, start: a, end: b, count, participants, distinct: false });
            }
        }
    }
    // Calendar 2025: the exact figures, split between the two schools.
    let (a, b) = (ymd(2025, 1, 1), ymd(2025, 12, 31));
    for (kind, events, participants, lo, hi) in PROJECT_2025 {
        let weights = [uniform(&mut rng, 0.5, 0.65), uniform(&mut rng, 0.35, 0.5)];
        let counts = rng::apportion(events, &weights);
        let heads = rng::apportion(participants, &counts.iter().map(|c| *c as f64).collect::<Vec<_>>());
        for school in 0..2 {
            if counts[school] == 0 {
                continue;
            }
            if counts[school] * lo > heads[school] || counts[school] * hi < heads[school] {
                return Err(Diagnostic::runtime("internal: the project's participants do not fit their events"));
            }
            buckets.push(Bucket {
                school,
                kind,
                start: a,
                end: b,
                count: counts[school],
                participants: Participants::Exact { total: heads[school], lo, hi },
                distinct: kind == ImmediateSupport,
            });
        }
    }
    Ok(buckets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Preset;

    #[test]
    fn project_plan_meets_its_figures() {
        for seed in [1, 2, 3, 42] {
            let world = World::new(Preset::Project.spec().unwrap(), seed).unwrap();
            let plan = plan(&world).unwrap();
            let sessions: usize =
                plan.cases.iter().map(|c| c.sessions.iter().filter(|d| d.year() == 2025).count()).sum();
            assert_eq!(sessions as u64, PROJECT_CASE_SESSIONS_2025, "seed {seed}");
            for c in &plan.cases {
                assert_eq!(c.sessions.first(), Some(&c.opened));
                if let Some(closed) = c.closed {
                    assert!(c.sessions.iter().all(|d| *d <= closed), "{c:?}");
                }
            }
        }
    }
}
