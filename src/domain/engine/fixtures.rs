//! Matches shared by the engine's tests.

use super::MatchParams;

pub(super) fn params(home: f64, away: f64, adv: f64) -> MatchParams {
    MatchParams {
        home_rating: home,
        away_rating: away,
        home_advantage: adv,
    }
}

/// The matches of the product examples plus equal sides and the extremes.
pub(super) fn matches() -> [(&'static str, MatchParams); 6] {
    [
        ("Barcelona v Real Madrid", params(2100.0, 2050.0, 100.0)),
        ("Manchester City v Liverpool", params(2150.0, 2080.0, 100.0)),
        (
            "Bayern Munich v Borussia Dortmund",
            params(2120.0, 1950.0, 100.0),
        ),
        ("equal sides", params(1500.0, 1500.0, 0.0)),
        ("3000 v 0", params(3000.0, 0.0, 300.0)),
        ("0 v 3000", params(0.0, 3000.0, 0.0)),
    ]
}
