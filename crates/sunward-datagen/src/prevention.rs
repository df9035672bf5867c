//! The prevention loop around the cases: each district's mental-health centre
//! (`centres`) with its 24-hour hotline and walk-in counselling (面询, the
//! `centre_services` file), how each case was found (`cases.channel`), which
//! cases became crises and when, referrals, leave from school and return
//! (`crisis_on`, `referred_on`, `leave_on`, `returned_on`), the actions that
//! followed (`followups`), and the five dimensions of a screening result.
//!
//! Everything here draws from streams of its own (`case-loop`,
//! `centre-services`, `centre-case-services`, `followups`,
//! `followups-screenings`, `screening-dims`), never from the streams of the
//! other tables, so adding the loop changed no value of the tables it sits
//! beside. A case's loop ([`CaseLoop`]) is planned with the cases; the
//! centre's events and the follow-up actions are made when their file is
//! written, one district or one case at a time.

use crate::calendar::{ay_end, ay_start, days, earlier, later};
use crate::plan::{Case, CaseLoop, GENERAL, ServiceType, Tier};
use crate::rng::{self, between, chance, stream, uniform};
use crate::spec::Spec;
use crate::world::{Student, World};
use chrono::{Datelike, NaiveDate, Weekday};
use rand_chacha::ChaCha8Rng;

/// Counsellors per centre (`<centre_id>-W01` …).
pub const COUNSELLORS: usize = 6;

/// Hotline calls per 1,000 enrolled students of a district per academic year.
pub const HOTLINE_CALLS_PER_1000: f64 = 4.0;

/// Walk-in consultations at a centre not prompted by a hotline call, per 1,000
/// enrolled students per academic year.
pub const WALK_INS_PER_1000: f64 = 1.0;

/// The channels a case is found through, with their shares of all cases.
pub const CHANNELS: [(&str, f64); 7] = [
    ("screening", 0.40),
    ("head_teacher", 0.20),
    ("parent", 0.12),
    ("peer_monitor", 0.08),
    ("hotline", 0.10),
    ("walk_in", 0.07),
    ("other", 0.03),
];

/// A district's mental-health centre.
#[derive(Debug, Clone)]
pub struct Centre {
    /// `centre_id`: `<district_id>-MHC`.
    pub id: String,
    /// `centre_name`: `<district_name>未成年人心理健康中心`.
    pub name: String,
    /// Index into [`Spec::districts`].
    pub district: usize,
    /// The counsellors' `worker_id`s.
    pub counsellors: Vec<String>,
}

/// One centre per district, in the districts' order.
pub fn centres(spec: &Spec) -> Vec<Centre> {
    spec.districts
        .iter()
        .enumerate()
        .map(|(d, district)| {
            let id = format!("{}-MHC", district.id);
            let counsellors = (1..=COUNSELLORS).map(|n| format!("{id}-W{n:02}")).collect();
            Centre { name: format!("{}未成年人心理健康中心", district.name), id, district: d, counsellors }
        })
        .collect()
}

fn plus(d: NaiveDate, n: u64) -> NaiveDate {
    d + chrono::Days::new(n)
}

fn minus(d: NaiveDate, n: u64) -> NaiveDate {
    d - chrono::Days::new(n)
}

/// Whether the student's screening in the academic year of `date` was at
/// least of `general` concern (the students a screening can bring to a case).
fn flagged(world: &World, student: Student, date: NaiveDate) -> bool {
    let ay = crate::calendar::academic_year(date);
    world.screened(student, ay) && world.latent(student, ay) > GENERAL
}

/// The loops of all cases, in the order of `cases`.
///
/// A case is found by the screening only if its student was flagged by that
/// year's screening: flagged students' cases come through the screening more
/// often, so that about 40% of all cases do, and the other channels keep
/// their shares of the rest.
pub fn case_loops(world: &World, cases: &[Case]) -> Vec<CaseLoop> {
    let flagged_cases = cases.iter().filter(|c| flagged(world, c.student, c.opened)).count();
    let share = flagged_cases as f64 / cases.len().max(1) as f64;
    let p_screening = if share > 0.0 { (CHANNELS[0].1 / share).min(0.9) } else { 0.0 };
    let others: Vec<f64> = CHANNELS[1..].iter().map(|c| c.1).collect();
    cases
        .iter()
        .enumerate()
        .map(|(i, case)| {
            let mut rng = stream(world.seed, "case-loop", &[i as u64]);
            let by_screening = flagged(world, case.student, case.opened) && chance(&mut rng, p_screening);
            let channel = if by_screening { CHANNELS[0].0 } else { CHANNELS[1 + rng::weighted(&mut rng, &others)].0 };
            case_loop(world, &mut rng, case, channel)
        })
        .collect()
}

fn case_loop(world: &World, rng: &mut ChaCha8Rng, case: &Case, channel: &'static str) -> CaseLoop {
    let spec = &world.spec;
    let last = earlier(case.closed.unwrap_or(spec.end), spec.end);
    let p_crisis = match (case.initial, case.issue) {
        (Tier::Red, "self_harm_risk" | "suicidal_ideation" | "depression") => 0.4,
        (Tier::Red, _) => 0.05,
        _ => 0.0,
    };
    let crisis =
        (p_crisis > 0.0 && chance(rng, p_crisis)).then(|| earlier(plus(case.opened, between(rng, 0, 10)), last));
    let referred = case.referred.map(|_| {
        let from = crisis.unwrap_or(case.opened);
        let room = (last - from).num_days().clamp(0, 42) as u64;
        plus(from, between(rng, 0, room))
    });
    let leave = crisis.filter(|_| chance(rng, 0.4)).map(|c| earlier(plus(c, between(rng, 0, 7)), last));
    let returned = leave.and_then(|l| {
        let back = plus(l, between(rng, 14, 90));
        (back <= spec.end && case.closed.is_none_or(|c| back <= c)).then_some(back)
    });
    // The centre's contacts before the case was opened (never before the data starts).
    let room = (case.opened - spec.start).num_days().max(0) as u64;
    let (hotline_call, centre_consultation) = match channel {
        "hotline" if room >= 1 => {
            let before = between(rng, 1, 10).min(room);
            let call = minus(case.opened, before);
            let consultation = chance(rng, 0.7).then(|| plus(call, between(rng, 1, before)));
            (Some(call), consultation)
        }
        "walk_in" => (None, Some(minus(case.opened, between(rng, 0, 5).min(room)))),
        _ => (None, None),
    };
    CaseLoop { channel, crisis, referred, leave, returned, hotline_call, centre_consultation }
}

/// One service of a centre (a row of `centre_services`).
#[derive(Debug, Clone)]
pub struct CentreEvent {
    /// `service_date`.
    pub date: NaiveDate,
    /// `hotline_call` or `consultation`.
    pub kind: ServiceType,
    /// `audience`.
    pub audience: &'static str,
    /// `student_ref` (none: an anonymous call).
    pub student: Option<Student>,
    /// Index into [`Centre::counsellors`].
    pub counsellor: usize,
    /// `duration_min`.
    pub minutes: u64,
    /// `topic`.
    pub topic: Option<&'static str>,
}

const HOTLINE_TOPICS: [&str; 7] = ["情绪困扰", "学业压力", "亲子关系", "人际关系", "自伤念头", "网络依赖", "睡眠问题"];

fn hotline_minutes(rng: &mut ChaCha8Rng) -> u64 {
    between(rng, 10, 60)
}

fn consultation_minutes(rng: &mut ChaCha8Rng) -> u64 {
    between(rng, 8, 18) * 5
}

fn consultation_topic(rng: &mut ChaCha8Rng) -> Option<&'static str> {
    let topics = ServiceType::Consultation.topics(false);
    (!chance(rng, 0.3)).then(|| *rng::pick(rng, topics))
}

fn hotline_topic(rng: &mut ChaCha8Rng) -> Option<&'static str> {
    (!chance(rng, 0.2)).then(|| *rng::pick(rng, &HOTLINE_TOPICS))
}

/// The first day on or after `d` the centre sees walk-ins (Monday to Saturday).
fn open_day(d: NaiveDate) -> NaiveDate {
    if d.weekday() == Weekday::Sun { plus(d, 1) } else { d }
}

/// The services of centre `centre` over the whole period, by date: hotline
/// calls every day of the year (about [`HOTLINE_CALLS_PER_1000`] per 1,000
/// students of the district a year, three in five naming a student of its
/// schools), consultations of some identified callers a few days later,
/// walk-ins, and the calls and consultations that came before the district's
/// `hotline` and `walk_in` cases.
pub fn centre_events(world: &World, cases: &[Case], loops: &[CaseLoop], centre: &Centre) -> Vec<CentreEvent> {
    let spec = &world.spec;
    let schools: Vec<usize> =
        (0..spec.schools.len()).filter(|s| spec.schools[*s].district == centre.district).collect();
    let mut events = Vec::new();
    for &ay in &spec.years {
        year_events(world, centre, &schools, ay, &mut events);
    }
    case_contacts(world, cases, loops, centre, &mut events);
    events.sort_by_key(|e| e.date);
    events
}

/// The centre's calls, consultations and walk-ins of academic year `ay`
/// (the part of it within the period), from the year's own stream.
fn year_events(world: &World, centre: &Centre, schools: &[usize], ay: i32, events: &mut Vec<CentreEvent>) {
    let spec = &world.spec;
    let from = later(ay_start(ay), spec.start);
    let to = earlier(ay_end(ay), spec.end);
    if to < from {
        return;
    }
    let enrolled: Vec<f64> =
        schools.iter().map(|s| f64::from(world.roster(*s, ay).map_or(0, |r| r.students))).collect();
    let students: f64 = enrolled.iter().sum();
    if students <= 0.0 {
        return;
    }
    let all_days: Vec<NaiveDate> = days(from, to).collect();
    let mut year = CentreYear {
        world,
        centre,
        schools,
        ay,
        rng: stream(world.seed, "centre-services", &[centre.district as u64, ay as u64]),
        open_days: all_days.iter().copied().filter(|d| d.weekday() != Weekday::Sun).collect(),
        all_days,
        enrolled,
    };
    let covered = ((to - from).num_days() + 1) as f64 / ((ay_end(ay) - ay_start(ay)).num_days() + 1) as f64;
    let calls = (students * HOTLINE_CALLS_PER_1000 / 1000.0 * covered * uniform(&mut year.rng, 0.85, 1.15)).round();
    for _ in 0..calls as u64 {
        year.hotline_call(events);
    }
    let walk_ins = (students * WALK_INS_PER_1000 / 1000.0 * covered * uniform(&mut year.rng, 0.8, 1.2)).round();
    for _ in 0..walk_ins as u64 {
        if year.open_days.is_empty() {
            break;
        }
        year.walk_in(events);
    }
}

/// One academic year of a centre being drawn: its stream, its days (all,
/// and those open to walk-ins) and the district's schools with their enrolment.
struct CentreYear<'a> {
    world: &'a World,
    centre: &'a Centre,
    schools: &'a [usize],
    ay: i32,
    rng: ChaCha8Rng,
    all_days: Vec<NaiveDate>,
    open_days: Vec<NaiveDate>,
    /// Each school's students that year, in the order of `schools`.
    enrolled: Vec<f64>,
}

impl CentreYear<'_> {
    /// One of the centre's counsellors (by index).
    fn counsellor(&mut self) -> usize {
        between(&mut self.rng, 0, self.centre.counsellors.len() as u64 - 1) as usize
    }

    /// A student of the district, a school picked by its enrolment.
    fn pick_student(&mut self) -> Option<Student> {
        let s = self.schools[rng::weighted(&mut self.rng, &self.enrolled)];
        self.world.pick_student(&mut self.rng, s, self.ay, false)
    }

    /// A hotline call on a day of the year, and for a quarter of the
    /// students who called in person, a consultation a few days later.
    fn hotline_call(&mut self, events: &mut Vec<CentreEvent>) {
        let date = *rng::pick(&mut self.rng, &self.all_days);
        let audience = if chance(&mut self.rng, 0.8) { "student" } else { "parent" };
        let student = if chance(&mut self.rng, 0.6) { self.pick_student() } else { None };
        events.push(CentreEvent {
            date,
            kind: ServiceType::HotlineCall,
            audience,
            student,
            counsellor: self.counsellor(),
            minutes: hotline_minutes(&mut self.rng),
            topic: hotline_topic(&mut self.rng),
        });
        // A quarter of the students who called in person come in for a consultation.
        if let (Some(st), "student") = (student, audience)
            && chance(&mut self.rng, 0.25)
        {
            let visit = open_day(plus(date, between(&mut self.rng, 1, 14)));
            let (counsellor, minutes, topic) =
                (self.counsellor(), consultation_minutes(&mut self.rng), consultation_topic(&mut self.rng));
            if visit <= self.world.spec.end {
                events.push(CentreEvent {
                    date: visit,
                    kind: ServiceType::Consultation,
                    audience: "student",
                    student: Some(st),
                    counsellor,
                    minutes,
                    topic,
                });
            }
        }
    }

    /// A walk-in consultation on an open day (none when no student is found).
    fn walk_in(&mut self, events: &mut Vec<CentreEvent>) {
        let date = *rng::pick(&mut self.rng, &self.open_days);
        let Some(student) = self.pick_student() else { return };
        events.push(CentreEvent {
            date,
            kind: ServiceType::Consultation,
            audience: "student",
            student: Some(student),
            counsellor: self.counsellor(),
            minutes: consultation_minutes(&mut self.rng),
            topic: consultation_topic(&mut self.rng),
        });
    }
}

/// The contacts before the district's hotline and walk-in cases: the call
/// and the centre consultation each case's loop names, from the centre's case stream.
fn case_contacts(world: &World, cases: &[Case], loops: &[CaseLoop], centre: &Centre, events: &mut Vec<CentreEvent>) {
    let spec = &world.spec;
    let mut rng = stream(world.seed, "centre-case-services", &[centre.district as u64]);
    for (case, lp) in cases.iter().zip(loops) {
        if spec.schools[case.school].district != centre.district {
            continue;
        }
        if let Some(date) = lp.hotline_call {
            events.push(CentreEvent {
                date,
                kind: ServiceType::HotlineCall,
                audience: "student",
                student: Some(case.student),
                counsellor: between(&mut rng, 0, centre.counsellors.len() as u64 - 1) as usize,
                minutes: hotline_minutes(&mut rng),
                topic: hotline_topic(&mut rng),
            });
        }
        if let Some(date) = lp.centre_consultation {
            events.push(CentreEvent {
                date,
                kind: ServiceType::Consultation,
                audience: "student",
                student: Some(case.student),
                counsellor: between(&mut rng, 0, centre.counsellors.len() as u64 - 1) as usize,
                minutes: consultation_minutes(&mut rng),
                topic: consultation_topic(&mut rng),
            });
        }
    }
}

/// A follow-up kind (`followups.kind`).
pub mod kind {
    /// 危机告知书.
    pub const CRISIS_NOTICE: &str = "crisis_notice";
    /// 学校干预方案.
    pub const SCHOOL_PLAN: &str = "school_plan";
    /// 就医随访.
    pub const HOSPITAL_VISIT: &str = "hospital_visit";
    /// 居家联络.
    pub const LEAVE_CONTACT: &str = "leave_contact";
    /// 复学辅导.
    pub const RETURN_COUNSELLING: &str = "return_counselling";
    /// 其他跟进.
    pub const OTHER: &str = "other";
}

/// Who took a follow-up action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taker {
    /// The school's resident social worker (who holds the case).
    SchoolWorker,
    /// A counsellor of the district's centre (index into [`Centre::counsellors`]).
    Counsellor(usize),
}

/// One follow-up action of a case.
#[derive(Debug, Clone)]
pub struct Followup {
    /// `kind`.
    pub kind: &'static str,
    /// `due_on` (only for an action planned and not yet done).
    pub due: Option<NaiveDate>,
    /// `done_on` (none: planned).
    pub done: Option<NaiveDate>,
    /// `worker_id`.
    pub taker: Taker,
}

/// The follow-up actions of case number `index`, by date, as the deadlines
/// of the prevention loop (`packages/prevention-loop`) ask for them.
///
/// After a crisis: a crisis notice within two days (sent by a centre
/// counsellor) and the school's plan, mostly within a week of the notice.
/// For any case referred to a psychiatric hospital or a mental-health
/// centre: hospital follow-ups every 10–18 days (now and then a month) from
/// the referral until the case closes or the data ends. While the student is
/// on leave: contacts every 4–8 days (sometimes 9–14) until the day back or
/// the end of the data, and one planned next contact (a deadline, not done)
/// for a student still away at the end; after the return, counselling,
/// mostly within ten days. Nothing is dated after the end of the data but
/// that planned contact's deadline, a week after the last contact.
pub fn case_followups(world: &World, index: usize, case: &Case, lp: &CaseLoop) -> Vec<Followup> {
    let end = world.spec.end;
    let mut rng = stream(world.seed, "followups", &[index as u64]);
    let done = |kind, date, taker| Followup { kind, due: None, done: Some(date), taker };
    let mut out = Vec::new();
    if let Some(crisis) = lp.crisis {
        let notice = earlier(plus(crisis, between(&mut rng, 0, 2)), end);
        let counsellor = between(&mut rng, 0, COUNSELLORS as u64 - 1) as usize;
        out.push(done(kind::CRISIS_NOTICE, notice, Taker::Counsellor(counsellor)));
        let plan_after = match rng::weighted(&mut rng, &[0.80, 0.15, 0.05]) {
            0 => Some(between(&mut rng, 1, 7)),
            1 => Some(between(&mut rng, 8, 20)),
            _ => None,
        };
        if let Some(date) = plan_after.map(|n| plus(notice, n)).filter(|d| *d <= end) {
            out.push(done(kind::SCHOOL_PLAN, date, Taker::SchoolWorker));
        }
    }
    if matches!(case.referred, Some("psychiatric_hospital" | "mental_health_centre"))
        && let Some(referred) = lp.referred
    {
        let stop = earlier(case.closed.unwrap_or(end), end);
        let mut date = referred;
        loop {
            let gap = if chance(&mut rng, 0.08) { between(&mut rng, 25, 35) } else { between(&mut rng, 10, 18) };
            date = plus(date, gap);
            if date > stop {
                break;
            }
            out.push(done(kind::HOSPITAL_VISIT, date, Taker::SchoolWorker));
        }
    }
    if let Some(leave) = lp.leave {
        // Contacts while away: before the day back (a case may close while the student is still away).
        let stop = lp.returned.map_or(end, |r| earlier(minus(r, 1), end));
        let (mut date, mut last) = (leave, leave);
        loop {
            let gap = if chance(&mut rng, 0.15) { between(&mut rng, 9, 14) } else { between(&mut rng, 4, 8) };
            date = plus(date, gap);
            if date > stop {
                break;
            }
            out.push(done(kind::LEAVE_CONTACT, date, Taker::SchoolWorker));
            last = date;
        }
        if lp.returned.is_none() {
            out.push(Followup {
                kind: kind::LEAVE_CONTACT,
                due: Some(plus(last, 7)),
                done: None,
                taker: Taker::SchoolWorker,
            });
        }
        if let Some(back) = lp.returned {
            let after = match rng::weighted(&mut rng, &[0.75, 0.15, 0.10]) {
                0 => Some(between(&mut rng, 1, 10)),
                1 => Some(between(&mut rng, 11, 30)),
                _ => None,
            };
            if let Some(date) = after.map(|n| plus(back, n)).filter(|d| *d <= end) {
                out.push(done(kind::RETURN_COUNSELLING, date, Taker::SchoolWorker));
            }
        }
    }
    out.sort_by_key(|f| f.done.or(f.due));
    out
}

/// The day of an `other` follow-up of a high screening (about three in ten
/// get one, two to ten days after the screening), drawn from `rng`; none
/// after `end`.
pub fn screening_followup(rng: &mut ChaCha8Rng, screened: NaiveDate, end: NaiveDate) -> Option<NaiveDate> {
    if !chance(rng, 0.3) {
        return None;
    }
    Some(plus(screened, between(rng, 2, 10))).filter(|d| *d <= end)
}

/// The five dimensions of a screening result (emotion, behaviour, cognition,
/// social adaptation, major life events) for its level, drawn from `rng`:
/// none for level `none`, each with a chance that grows with the level.
pub fn screening_dims(rng: &mut ChaCha8Rng, level: &str) -> [bool; 5] {
    let p = match level {
        "general" => [0.15; 5],
        "key" => [0.5, 0.3, 0.25, 0.4, 0.15],
        "high" => [0.8, 0.5, 0.4, 0.6, 0.3],
        _ => return [false; 5],
    };
    p.map(|p| chance(rng, p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan_world as plan;
    use crate::spec::Preset;

    #[test]
    fn loops_keep_their_dates_in_order() {
        for preset in [Preset::Project, Preset::Taicang] {
            let world = World::new(preset.spec().unwrap(), 3).unwrap();
            let plan = plan(&world).unwrap();
            assert_eq!(plan.loops.len(), plan.cases.len());
            let end = world.spec.end;
            for (c, lp) in plan.cases.iter().zip(&plan.loops) {
                let last = c.closed.unwrap_or(end);
                for d in [lp.crisis, lp.referred, lp.leave, lp.returned].into_iter().flatten() {
                    assert!(d >= c.opened && d <= last && d <= end, "{c:?} {lp:?}");
                }
                assert_eq!(lp.referred.is_some(), c.referred.is_some());
                assert!(lp.leave.is_none() || lp.crisis.is_some_and(|k| Some(k) <= lp.leave));
                assert!(lp.returned.is_none() || lp.leave < lp.returned);
                if lp.channel == "hotline" {
                    let call = lp.hotline_call.expect("a call before a hotline case");
                    assert!(call < c.opened && call >= world.spec.start);
                    assert!(lp.centre_consultation.is_none_or(|v| v > call && v <= c.opened));
                }
            }
        }
    }

    #[test]
    fn followups_follow_the_crisis() {
        let world = World::new(Preset::Taicang.spec().unwrap(), 1).unwrap();
        let plan = plan(&world).unwrap();
        let mut crises = 0;
        for (i, (c, lp)) in plan.cases.iter().zip(&plan.loops).enumerate() {
            let actions = case_followups(&world, i, c, lp);
            let Some(crisis) = lp.crisis else {
                let hospital = matches!(c.referred, Some("psychiatric_hospital" | "mental_health_centre"));
                assert!(actions.iter().all(|a| hospital && a.kind == kind::HOSPITAL_VISIT), "{actions:?}");
                continue;
            };
            crises += 1;
            assert_eq!(actions[0].kind, kind::CRISIS_NOTICE);
            assert!(actions[0].done.is_some_and(|d| d >= crisis));
            for a in &actions {
                assert!(a.done.is_none_or(|d| d <= world.spec.end), "{a:?}");
                assert_eq!(a.done.is_none(), a.due.is_some());
            }
        }
        assert!(crises > 10, "{crises} crisis cases");
    }

    #[test]
    fn a_student_still_away_at_the_end_gets_a_planned_contact() {
        let world = World::new(Preset::Project.spec().unwrap(), 1).unwrap();
        let plan = plan(&world).unwrap();
        let end = world.spec.end;
        let mut case = plan.cases.iter().find(|c| c.closed.is_none()).expect("an open case").clone();
        case.initial = Tier::Red;
        case.referred = None;
        let crisis = end - chrono::Days::new(40);
        case.opened = crisis;
        let lp = CaseLoop {
            channel: "parent",
            crisis: Some(crisis),
            leave: Some(crisis + chrono::Days::new(2)),
            ..CaseLoop::default()
        };
        let actions = case_followups(&world, 0, &case, &lp);
        let contacts: Vec<&Followup> = actions.iter().filter(|a| a.kind == kind::LEAVE_CONTACT).collect();
        let (planned, done): (Vec<&Followup>, Vec<&Followup>) = contacts.iter().partition(|a| a.done.is_none());
        assert!(!done.is_empty() && done.iter().all(|a| a.done.is_some_and(|d| d <= end)), "{actions:?}");
        assert_eq!(planned.len(), 1, "{actions:?}");
        let last = done.iter().filter_map(|a| a.done).max().unwrap();
        assert_eq!(planned[0].due, Some(last + chrono::Days::new(7)));
        assert!(!actions.iter().any(|a| a.kind == kind::RETURN_COUNSELLING));

        // Back at school before the end: no planned contact, counselling may follow.
        let back = CaseLoop { returned: Some(crisis + chrono::Days::new(20)), ..lp };
        let actions = case_followups(&world, 0, &case, &back);
        assert!(actions.iter().all(|a| a.done.is_some()), "{actions:?}");
        assert!(
            actions.iter().filter(|a| a.kind == kind::LEAVE_CONTACT).all(|a| a.done < back.returned),
            "{actions:?}"
        );
    }
}
