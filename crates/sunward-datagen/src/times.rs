//! The time of day each service began: mostly school hours, counselling
//! sometimes after school, parents' workshops often in the evening, a
//! hotline call at any hour. Drawn from a stream of its own
//! (`service-times`), so the services' other columns keep every byte.

use crate::calendar::{DayKind, day_kind};
use crate::plan::ServiceType;
use crate::rng::{between, chance};
use crate::sink::Cell;
use chrono::NaiveDate;
use rand_chacha::ChaCha8Rng;

/// Seconds of `h:m`.
pub const fn at(h: i32, m: i32) -> i32 {
    h * 3600 + m * 60
}

/// A start time between `from` and `to` (seconds), on a five-minute step.
fn time_between(rng: &mut ChaCha8Rng, from: i32, to: i32) -> i32 {
    let steps = ((to - from) / 300).max(0) as u64;
    from + 300 * between(rng, 0, steps) as i32
}

/// The time of day a service of `kind` on `date` began: mostly school hours,
/// counselling sometimes after school, parents' workshops often in the
/// evening, a hotline call at any hour; about one in twenty not recorded.
pub fn start_time(rng: &mut ChaCha8Rng, kind: ServiceType, date: NaiveDate) -> Cell<'static> {
    if chance(rng, 0.05) {
        return Cell::Null;
    }
    let daytime = |rng: &mut ChaCha8Rng| time_between(rng, at(8, 0), at(16, 30));
    let seconds = match kind {
        ServiceType::HotlineCall => {
            if chance(rng, 0.55) {
                time_between(rng, at(17, 0), at(23, 55))
            } else if chance(rng, 0.2) {
                time_between(rng, 0, at(7, 55))
            } else {
                daytime(rng)
            }
        }
        _ if day_kind(date) != DayKind::School => time_between(rng, at(9, 0), at(17, 0)),
        ServiceType::CaseSession
        | ServiceType::Consultation
        | ServiceType::ImmediateSupport
        | ServiceType::HomeVisit
        | ServiceType::MailboxReply => {
            if chance(rng, 0.22) {
                time_between(rng, at(17, 0), at(20, 0))
            } else {
                daytime(rng)
            }
        }
        ServiceType::ParentWorkshop | ServiceType::JointMeeting => {
            if chance(rng, 0.4) {
                time_between(rng, at(18, 30), at(19, 30))
            } else {
                time_between(rng, at(13, 30), at(16, 0))
            }
        }
        ServiceType::TeacherWorkshop => time_between(rng, at(15, 30), at(17, 0)),
        _ => daytime(rng),
    };
    Cell::Time(seconds)
}
