//! The built-in catalogue of sample matches (`GET /api/events`, `event_id` in requests).

use super::matchup::{DEFAULT_SPORT, Matchup};

/// A catalogue entry.
#[derive(Debug, Clone, Copy)]
pub struct CatalogueEvent {
    pub id: &'static str,
    pub competition: &'static str,
    pub home_team: &'static str,
    pub away_team: &'static str,
    pub home_rating: f64,
    pub away_rating: f64,
    pub home_advantage: f64,
    /// Why this match is in the catalogue (what it is good for exploring).
    pub note: &'static str,
}

impl CatalogueEvent {
    pub fn matchup(&self) -> Matchup {
        Matchup {
            home_team: self.home_team.to_owned(),
            away_team: self.away_team.to_owned(),
            home_rating: self.home_rating,
            away_rating: self.away_rating,
            home_advantage: self.home_advantage,
            sport: DEFAULT_SPORT.to_owned(),
        }
    }
}

const fn event(
    id: &'static str,
    competition: &'static str,
    (home_team, home_rating): (&'static str, f64),
    (away_team, away_rating): (&'static str, f64),
    note: &'static str,
) -> CatalogueEvent {
    CatalogueEvent {
        id,
        competition,
        home_team,
        away_team,
        home_rating,
        away_rating,
        home_advantage: 100.0,
        note,
    }
}

pub const EVENTS: &[CatalogueEvent] = &[
    event(
        "demo_001",
        "La Liga",
        ("Barcelona", 2100.0),
        ("Real Madrid", 2050.0),
        "A classic rivalry with a small rating gap: home advantage does most of the work.",
    ),
    event(
        "demo_002",
        "Premier League",
        ("Manchester City", 2150.0),
        ("Liverpool", 2080.0),
        "Two strong sides; a moderate favourite.",
    ),
    event(
        "demo_003",
        "Bundesliga",
        ("Bayern Munich", 2120.0),
        ("Borussia Dortmund", 1950.0),
        "A clear favourite at home.",
    ),
    event(
        "demo_004",
        "Serie A",
        ("Inter", 2000.0),
        ("AC Milan", 2100.0),
        "The away side is rated higher: home advantage almost cancels the gap.",
    ),
    event(
        "demo_005",
        "Ligue 1",
        ("Lyon", 1900.0),
        ("Marseille", 1900.0),
        "Equal ratings: only home advantage separates the sides.",
    ),
    event(
        "demo_006",
        "Cup",
        ("Paris Saint-Germain", 2200.0),
        ("Amateur Select", 1300.0),
        "A lopsided match: watch the uncertainty score fall.",
    ),
    event(
        "demo_007",
        "Eredivisie",
        ("Ajax", 1850.0),
        ("PSV", 1950.0),
        "A visiting favourite.",
    ),
    event(
        "demo_008",
        "Primeira Liga",
        ("Benfica", 1880.0),
        ("Porto", 1900.0),
        "A near-even match with a high uncertainty score.",
    ),
    event(
        "demo_009",
        "Friendly",
        ("Neutral Ground A", 1700.0),
        ("Neutral Ground B", 1700.0),
        "Identical ratings; compare with demo_005 to see what home advantage adds.",
    ),
];

/// Looks an event up by id.
pub fn find(id: &str) -> Option<&'static CatalogueEvent> {
    EVENTS.iter().find(|e| e.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_the_demo_matches_are_present() {
        let mut ids: Vec<_> = EVENTS.iter().map(|e| e.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), EVENTS.len());
        let barca = find("demo_001").unwrap();
        assert_eq!((barca.home_team, barca.home_rating), ("Barcelona", 2100.0));
        assert_eq!(find("demo_002").unwrap().away_team, "Liverpool");
        assert_eq!(find("demo_003").unwrap().away_rating, 1950.0);
        assert!(EVENTS.len() >= 8);
    }

    #[test]
    fn catalogue_includes_a_lopsided_and_an_even_match() {
        let gap = |e: &CatalogueEvent| (e.home_rating + e.home_advantage - e.away_rating).abs();
        assert!(EVENTS.iter().any(|e| gap(e) >= 500.0));
        assert!(EVENTS.iter().any(|e| gap(e) <= 30.0));
    }
}
