//! Access to the service: when it is given and how students reach it — the
//! time of day of each service, the workers and their duty rosters, the
//! appointments a counselling session is booked through, the feedback after
//! it, and the term dates that tell a vacation from a school day.
//!
//! Every table here draws from random streams of its own (`service-times`,
//! `appointments`, `feedback`, `rosters`), so the tables written before these
//! were added keep every byte, and so does every figure made from them.
//! Appointments are made from the case sessions and consultations the
//! services table holds: the services are generated a second time into a
//! [`Collector`] that keeps only those rows.

use crate::calendar::{DayKind, academic_year, ay_start, day_kind, later, ymd};
use crate::plan::{Plan, ServiceType};
use crate::rng::{self, between, chance, stream};
use crate::sink::{Cell, Out, TableSink, Written};
use crate::times::at;
use crate::world::{Student, World};
use chrono::{Datelike, NaiveDate, Weekday};
use rand_chacha::ChaCha8Rng;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use sunward_core::Result;

/// A counselling service as the appointments need it.
#[derive(Debug, Clone)]
struct Session {
    record_id: String,
    school: String,
    date: NaiveDate,
    time: Option<i32>,
    student: Option<Student>,
    worker: String,
    consultation: bool,
}

/// A sink that keeps the counselling rows of the services (case sessions and consultations).
struct Collector(Arc<Mutex<Vec<Session>>>);

impl TableSink for Collector {
    fn row(&mut self, cells: &[Cell<'_>]) -> Result<()> {
        let text = |i: usize| match cells.get(i) {
            Some(Cell::Str(s)) => Some(s.to_string()),
            _ => None,
        };
        let kind = text(3);
        let consultation = kind.as_deref() == Some(ServiceType::Consultation.code());
        if !(consultation || kind.as_deref() == Some(ServiceType::CaseSession.code())) {
            return Ok(());
        }
        let (Some(record_id), Some(school), Some(Cell::Date(date))) = (text(0), text(1), cells.get(2)) else {
            return Ok(());
        };
        let session = Session {
            record_id,
            school,
            date: *date,
            time: match cells.get(13) {
                Some(Cell::Time(t)) => Some(*t),
                _ => None,
            },
            student: match cells.get(6) {
                Some(Cell::Student(s)) => Some(*s),
                _ => None,
            },
            worker: text(9).unwrap_or_default(),
            consultation,
        };
        if let Ok(mut kept) = self.0.lock() {
            kept.push(session);
        }
        Ok(())
    }

    fn finish(self: Box<Self>, rows: u64) -> Result<Written> {
        Ok(Written { table: "services".into(), path: Default::default(), rows, bytes: 0 })
    }
}

/// The counselling sessions of the services table, school by school in date order.
fn sessions(world: &World, plan: &Plan) -> Result<Vec<Session>> {
    let kept = Arc::new(Mutex::new(Vec::new()));
    let mut out = Out { sink: Box::new(Collector(kept.clone())), table: "services", rows: 0, progress: &crate::Silent };
    crate::tables::services(world, plan, &mut out)?;
    drop(out);
    let sessions = kept.lock().map(|mut k| std::mem::take(&mut *k)).unwrap_or_default();
    Ok(sessions)
}

/// One appointment before it is numbered.
struct Booking {
    booked_on: NaiveDate,
    slot_date: NaiveDate,
    slot_time: Option<i32>,
    channel: &'static str,
    status: &'static str,
    session: usize,
}

/// Days between booking and the slot: a quarter the same day, most within a week.
fn waiting_days(rng: &mut ChaCha8Rng) -> u64 {
    match between(rng, 0, 99) {
        0..=24 => 0,
        25..=64 => between(rng, 1, 3),
        65..=89 => between(rng, 4, 7),
        _ => between(rng, 8, 14),
    }
}

fn channel(rng: &mut ChaCha8Rng) -> &'static str {
    match between(rng, 0, 99) {
        0..=84 => "in_person",
        85..=94 => "online",
        _ => "phone",
    }
}

/// The appointments of every school: seven in ten counselling sessions were
/// booked (the rest were walk-ins); beside them, bookings nobody came to and
/// bookings cancelled by either side. Numbered `<school>-A000001` in the
/// order they were made.
fn bookings(world: &World, sessions: &[Session]) -> Vec<(String, Vec<Booking>)> {
    let mut by_school: Vec<(String, Vec<Booking>)> = Vec::new();
    for (s, school) in world.spec.schools.iter().enumerate() {
        let mut rng = stream(world.seed, "appointments", &[s as u64]);
        let mut list = Vec::new();
        for (i, session) in sessions.iter().enumerate().filter(|(_, x)| x.school == school.id) {
            if !chance(&mut rng, 0.7) {
                continue;
            }
            let wait = waiting_days(&mut rng);
            let booked_on = later(session.date - chrono::Days::new(wait), world.spec.start);
            let channel = channel(&mut rng);
            list.push(Booking {
                booked_on,
                slot_date: session.date,
                slot_time: session.time,
                channel,
                status: "attended",
                session: i,
            });
            // A slot missed or called off before this one.
            let status = match between(&mut rng, 0, 99) {
                0..=8 => Some("no_show"),
                9..=12 => Some("cancelled_by_student"),
                13..=14 => Some("cancelled_by_service"),
                _ => None,
            };
            if let Some(status) = status {
                let earlier = session.date - chrono::Days::new(between(&mut rng, 2, 7));
                let slot_date = later(earlier, world.spec.start);
                let booked_on = later(slot_date - chrono::Days::new(waiting_days(&mut rng)), world.spec.start);
                list.push(Booking { booked_on, slot_date, slot_time: session.time, channel, status, session: i });
            }
        }
        list.sort_by_key(|b| (b.booked_on, b.slot_date, b.session, b.status != "attended"));
        by_school.push((school.id.clone(), list));
    }
    by_school
}

/// `appointments`: one row per booking.
pub fn appointments(world: &World, plan: &Plan, out: &mut Out<'_>) -> Result<()> {
    let sessions = sessions(world, plan)?;
    let mut id = String::new();
    for (school, list) in bookings(world, &sessions) {
        for (n, b) in list.iter().enumerate() {
            let session = &sessions[b.session];
            id.clear();
            let _ = write!(id, "{school}-A{:06}", n + 1);
            let attended = b.status == "attended";
            out.push(&[
                Cell::Str(&id),
                Cell::Str(&school),
                session.student.map_or(Cell::Null, Cell::Student),
                Cell::Date(b.booked_on),
                Cell::Date(b.slot_date),
                b.slot_time.map_or(Cell::Null, Cell::Time),
                Cell::Str(b.channel),
                Cell::Str(b.status),
                if attended { Cell::Str(&session.record_id) } else { Cell::Null },
                Cell::Str(&session.worker),
            ])?;
        }
    }
    Ok(())
}

/// A satisfaction score: most students satisfied, a few not.
fn satisfaction(rng: &mut ChaCha8Rng) -> i64 {
    match between(rng, 0, 99) {
        0..=1 => 1,
        2..=4 => 2,
        5..=16 => 3,
        17..=54 => 4,
        _ => 5,
    }
}

const COMMENTS: [&str; 4] = ["老师很耐心", "希望晚上也能预约", "等待时间有点长", "聊完轻松多了"];

/// `feedback`: about four in ten attended appointments are rated (by the
/// appointment), and one in five walk-in consultations (by the service record).
pub fn feedback(world: &World, plan: &Plan, out: &mut Out<'_>) -> Result<()> {
    let sessions = sessions(world, plan)?;
    let mut id = String::new();
    let mut appointment = String::new();
    for (s, (school, list)) in bookings(world, &sessions).into_iter().enumerate() {
        let mut rng = stream(world.seed, "feedback", &[s as u64]);
        let booked: std::collections::HashSet<usize> =
            list.iter().filter(|b| b.status == "attended").map(|b| b.session).collect();
        let mut n = 0;
        let mut row = |rng: &mut ChaCha8Rng, record: Option<&str>, appointment: Option<&str>, on: NaiveDate| {
            n += 1;
            id.clear();
            let _ = write!(id, "{school}-Q{n:06}");
            let score = satisfaction(rng);
            let recommend = chance(rng, if score >= 4 { 0.9 } else { 0.3 });
            let comment = chance(rng, 0.15).then(|| *rng::pick(rng, &COMMENTS));
            let given_on = on + chrono::Days::new(between(rng, 0, 3));
            out.push(&[
                Cell::Str(&id),
                Cell::Str(&school),
                record.map_or(Cell::Null, Cell::Str),
                appointment.map_or(Cell::Null, Cell::Str),
                Cell::Date(given_on),
                Cell::Str("student"),
                Cell::Int(score),
                Cell::Bool(recommend),
                comment.map_or(Cell::Null, Cell::Str),
            ])
        };
        for (k, b) in list.iter().enumerate() {
            if b.status == "attended" && chance(&mut rng, 0.4) {
                appointment.clear();
                let _ = write!(appointment, "{school}-A{:06}", k + 1);
                row(&mut rng, None, Some(&appointment), b.slot_date)?;
            }
        }
        for (i, session) in sessions.iter().enumerate().filter(|(_, x)| x.school == school) {
            if session.consultation && !booked.contains(&i) && chance(&mut rng, 0.2) {
                row(&mut rng, Some(&session.record_id), None, session.date)?;
            }
        }
    }
    Ok(())
}

/// The volunteers of a school: `<school>-V1` to `-V3`.
fn volunteers(school: &str) -> [String; 3] {
    [1, 2, 3].map(|n| format!("{school}-V{n}"))
}

/// `workers`: each school's social worker and three volunteers, each
/// organisation's supervisor, each district centre's counsellors.
pub fn workers(world: &World, out: &mut Out<'_>) -> Result<()> {
    let spec = &world.spec;
    for org in &spec.orgs {
        out.push(&[
            Cell::Str(&org.supervisor),
            Cell::Str(&org.id),
            Cell::Null,
            Cell::Str("social_worker"),
            Cell::Date(spec.start),
            Cell::Null,
        ])?;
    }
    for school in &spec.schools {
        let org = school.org.map(|o| spec.orgs[o].id.as_str());
        out.push(&[
            Cell::Str(&school.worker),
            org.map_or(Cell::Null, Cell::Str),
            Cell::Str(&school.id),
            Cell::Str("social_worker"),
            Cell::Date(spec.start),
            Cell::Null,
        ])?;
        for v in volunteers(&school.id) {
            out.push(&[
                Cell::Str(&v),
                org.map_or(Cell::Null, Cell::Str),
                Cell::Str(&school.id),
                Cell::Str("volunteer"),
                Cell::Date(spec.start),
                Cell::Null,
            ])?;
        }
    }
    for centre in crate::prevention::centres(spec) {
        for c in &centre.counsellors {
            out.push(&[
                Cell::Str(c),
                Cell::Str(&centre.id),
                Cell::Null,
                Cell::Str("counsellor"),
                Cell::Date(spec.start),
                Cell::Null,
            ])?;
        }
    }
    Ok(())
}

/// `rosters`: from its first term on, each school keeps an after-school duty
/// from 17:00 to 19:00 on school days and a Saturday morning duty in term,
/// taken in turn by its social worker and its volunteers; about one shift in
/// twenty is not kept. Numbered `<school>-D00001` by date.
pub fn rosters(world: &World, out: &mut Out<'_>) -> Result<()> {
    let mut id = String::new();
    for (s, school) in world.spec.schools.iter().enumerate() {
        let mut rng = stream(world.seed, "rosters", &[s as u64]);
        let mut takers = vec![school.worker.clone()];
        takers.extend(volunteers(&school.id));
        let mut n = 0;
        for date in world.dates() {
            let (from, to) = match day_kind(date) {
                DayKind::School => (at(17, 0), at(19, 0)),
                DayKind::Weekend if date.weekday() == Weekday::Sat && in_term(date) => (at(9, 0), at(12, 0)),
                _ => continue,
            };
            n += 1;
            id.clear();
            let _ = write!(id, "{}-D{n:05}", school.id);
            let taker = &takers[n % takers.len()];
            out.push(&[
                Cell::Str(&id),
                Cell::Str(&school.id),
                Cell::Date(date),
                Cell::Time(from),
                Cell::Time(to),
                Cell::Str(taker),
                Cell::Bool(!chance(&mut rng, 0.05)),
            ])?;
        }
    }
    Ok(())
}

/// The generator's terms (see [`crate::calendar`]): 1 September to
/// 19 January, and 16 February to 9 July.
fn terms_of(ay: i32) -> [(i64, NaiveDate, NaiveDate); 2] {
    [(1, ay_start(ay), ymd(ay + 1, 1, 19)), (2, ymd(ay + 1, 2, 16), ymd(ay + 1, 7, 9))]
}

fn in_term(date: NaiveDate) -> bool {
    terms_of(academic_year(date)).iter().any(|(_, first, last)| (*first..=*last).contains(&date))
}

/// `terms`: the terms of every academic year the data covers.
pub fn terms(world: &World, out: &mut Out<'_>) -> Result<()> {
    let first = academic_year(world.spec.start);
    let last = academic_year(world.spec.end);
    for ay in first..=last {
        for (term, from, to) in terms_of(ay) {
            out.push(&[Cell::Int(i64::from(ay)), Cell::Int(term), Cell::Date(from), Cell::Date(to)])?;
        }
    }
    Ok(())
}

/// China's holiday calendar as shipped (`calendars/cn-holidays.csv`).
const HOLIDAYS: &str = include_str!("../../../calendars/cn-holidays.csv");

/// `holidays`: the shipped calendar's days that fall in the data's span.
pub fn holidays(world: &World, out: &mut Out<'_>) -> Result<()> {
    for line in HOLIDAYS.lines().skip(1) {
        let mut fields = line.split(',');
        let (Some(date), Some(kind), Some(name)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        let Ok(date) = NaiveDate::parse_from_str(date, "%Y-%m-%d") else {
            continue;
        };
        if (world.spec.start..=world.spec.end).contains(&date) {
            out.push(&[Cell::Date(date), Cell::Str(kind), Cell::Str(name)])?;
        }
    }
    Ok(())
}
