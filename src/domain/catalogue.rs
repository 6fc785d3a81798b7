//! The built-in catalogue of sample matches (`GET /api/events`, `event_id` in requests).

use super::matchup::{DEFAULT_HOME_ADVANTAGE, DEFAULT_SPORT, Matchup};

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
        home_advantage: DEFAULT_HOME_ADVANTAGE,
        note,
    }
}

/// The same match played where neither side is at home.
const fn on_neutral_ground(mut event: CatalogueEvent) -> CatalogueEvent {
    event.home_advantage = 0.0;
    event
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
        "Two strong sides and a moderate favourite: the uncertainty score is medium.",
    ),
    event(
        "demo_003",
        "Bundesliga",
        ("Bayern Munich", 2120.0),
        ("Borussia Dortmund", 1950.0),
        "A clear favourite at home: the uncertainty score is low.",
    ),
    event(
        "demo_004",
        "Serie A",
        ("Inter", 2000.0),
        ("AC Milan", 2100.0),
        "The away side is rated higher, but home advantage cancels the gap exactly: the \
         sides are level.",
    ),
    event(
        "demo_005",
        "Ligue 1",
        ("Lyon", 1900.0),
        ("Marseille", 1900.0),
        "Identical ratings: only home advantage separates the sides; compare with demo_009, \
         which has none.",
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
        ("Ajax", 1800.0),
        ("PSV", 2080.0),
        "A visiting favourite: PSV's rating outweighs Ajax's home advantage, and the \
         uncertainty score is medium.",
    ),
    event(
        "demo_008",
        "Primeira Liga",
        ("Benfica", 1880.0),
        ("Porto", 1900.0),
        "Nearly equal ratings: home advantage makes Benfica the favourite, but the \
         uncertainty score stays high.",
    ),
    on_neutral_ground(event(
        "demo_009",
        "Friendly",
        ("Neutral Ground A", 1700.0),
        ("Neutral Ground B", 1700.0),
        "Identical ratings on neutral ground (no home advantage), so the sides are level; \
         compare with demo_005 to see what home advantage adds.",
    )),
    event(
        "demo_010",
        "Scottish Premiership",
        ("Celtic", 1900.0),
        ("Rangers", 1970.0),
        "A very close contest: Celtic are the favourite, yet win only about 4 matches in 10. \
         Being the favourite is not the same as being likely to win.",
    ),
];

/// Looks an event up by id.
pub fn find(id: &str) -> Option<&'static CatalogueEvent> {
    EVENTS.iter().find(|e| e.id == id)
}

#[cfg(test)]
mod tests {
    use super::super::engine::{Favourite, RiskBand, Simulation, simulate};
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

    /// What a note says, stated as something the numbers can confirm.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Claim {
        Favours(Favourite),
        Band(RiskBand),
        /// The two ratings are identical.
        EqualRatings,
        /// The ratings differ, by 30 points or less.
        CloseRatings,
        /// The rating gap is smaller than the home advantage.
        HomeAdvantageOutweighsGap,
        /// The away side is rated higher by exactly the home advantage.
        HomeAdvantageCancelsGap,
        /// No home advantage.
        NeutralGround,
        /// The favourite wins more than 9 matches in 10, and no match scores lower.
        Mismatch,
        /// The favourite wins this many matches in 10, rounded.
        FavouriteWinsInTen(u32),
        /// The home win probability differs from the named match's by 5 points or more.
        DiffersFrom(&'static str),
    }

    fn claims(id: &str) -> &'static [Claim] {
        use Claim::*;
        match id {
            "demo_001" => &[HomeAdvantageOutweighsGap, Favours(Favourite::Home)],
            "demo_002" => &[Favours(Favourite::Home), Band(RiskBand::Medium)],
            "demo_003" => &[Favours(Favourite::Home), Band(RiskBand::Low)],
            "demo_004" => &[HomeAdvantageCancelsGap, Favours(Favourite::None)],
            "demo_005" => &[
                EqualRatings,
                Favours(Favourite::Home),
                DiffersFrom("demo_009"),
            ],
            "demo_006" => &[Mismatch, Band(RiskBand::Low)],
            "demo_007" => &[Favours(Favourite::Away), Band(RiskBand::Medium)],
            "demo_008" => &[CloseRatings, Favours(Favourite::Home), Band(RiskBand::High)],
            "demo_009" => &[
                EqualRatings,
                NeutralGround,
                Favours(Favourite::None),
                DiffersFrom("demo_005"),
            ],
            "demo_010" => &[
                Favours(Favourite::Home),
                FavouriteWinsInTen(4),
                Band(RiskBand::High),
            ],
            _ => &[],
        }
    }

    /// Whether a claim backs a phrase.
    type Backs = fn(&Claim) -> bool;

    /// Phrases a note may use, each with the claim that must back it.
    const PROMISES: &[(&str, Backs)] = &[
        ("neutral ground", |c| *c == Claim::NeutralGround),
        ("lopsided", |c| *c == Claim::Mismatch),
        ("mismatch", |c| *c == Claim::Mismatch),
        ("identical ratings", |c| *c == Claim::EqualRatings),
        ("nearly equal ratings", |c| *c == Claim::CloseRatings),
        ("level", |c| *c == Claim::Favours(Favourite::None)),
        ("favourite", |c| {
            matches!(c, Claim::Favours(Favourite::Home | Favourite::Away))
        }),
        ("visiting favourite", |c| {
            *c == Claim::Favours(Favourite::Away)
        }),
        ("at home", |c| *c == Claim::Favours(Favourite::Home)),
        ("uncertainty score", |c| matches!(c, Claim::Band(_))),
        ("does most of the work", |c| {
            *c == Claim::HomeAdvantageOutweighsGap
        }),
        ("cancels the gap", |c| *c == Claim::HomeAdvantageCancelsGap),
        ("matches in 10", |c| {
            matches!(c, Claim::FavouriteWinsInTen(_))
        }),
    ];

    /// Every catalogue match, simulated as a request with the default iterations would be.
    fn simulated(seed: u64) -> Vec<(&'static CatalogueEvent, Simulation)> {
        EVENTS
            .iter()
            .map(|e| (e, simulate(&e.matchup().params(), 10_000, seed)))
            .collect()
    }

    fn holds(
        claim: Claim,
        event: &CatalogueEvent,
        results: &[(&CatalogueEvent, Simulation)],
    ) -> bool {
        let sim = &results.iter().find(|(e, _)| e.id == event.id).unwrap().1;
        let favourite_wins = 1.0 - sim.risk.upset_probability;
        let (home, away, adv) = (event.home_rating, event.away_rating, event.home_advantage);
        match claim {
            Claim::Favours(side) => sim.risk.favourite == side,
            Claim::Band(band) => sim.risk.band == band,
            Claim::EqualRatings => home == away,
            Claim::CloseRatings => home != away && (home - away).abs() <= 30.0,
            Claim::HomeAdvantageOutweighsGap => (home - away).abs() < adv,
            Claim::HomeAdvantageCancelsGap => away > home && home + adv == away,
            Claim::NeutralGround => adv == 0.0,
            Claim::Mismatch => {
                favourite_wins > 0.9
                    && results
                        .iter()
                        .all(|(_, other)| other.risk.score >= sim.risk.score)
            }
            Claim::FavouriteWinsInTen(n) => (10.0 * favourite_wins).round() == f64::from(n),
            Claim::DiffersFrom(id) => {
                results
                    .iter()
                    .find(|(e, _)| e.id == id)
                    .is_some_and(|(_, other)| {
                        (other.probabilities.home - sim.probabilities.home).abs() >= 0.05
                    })
            }
        }
    }

    #[test]
    fn every_note_is_backed_by_claims_about_its_numbers() {
        for event in EVENTS {
            // Words separated by single spaces, so phrases match whole words only.
            let words: Vec<String> = event
                .note
                .split(|c: char| !c.is_alphanumeric() && c != '_')
                .filter(|w| !w.is_empty())
                .map(str::to_lowercase)
                .collect();
            let note = format!(" {} ", words.join(" "));
            let claims = claims(event.id);

            assert!(
                !claims.is_empty(),
                "{}: the note makes no checked claim",
                event.id
            );
            for (phrase, backs) in PROMISES {
                assert!(
                    !note.contains(&format!(" {phrase} ")) || claims.iter().any(backs),
                    "{}: the note says {phrase:?} but no claim backs it",
                    event.id
                );
            }
            for word in &words {
                if word.starts_with("demo_") {
                    assert!(
                        claims.contains(&Claim::DiffersFrom(find(word).unwrap().id)),
                        "{}: the note points to {word} but no claim compares them",
                        event.id
                    );
                }
            }
        }
    }

    #[test]
    fn every_claim_holds_whatever_the_seed() {
        for seed in [1, 42, 2024] {
            let results = simulated(seed);

            for (event, _) in &results {
                for &claim in claims(event.id) {
                    assert!(
                        holds(claim, event, &results),
                        "{}: {claim:?} does not hold with seed {seed}",
                        event.id
                    );
                }
            }
        }
    }

    #[test]
    fn the_neutral_ground_match_shows_what_home_advantage_adds() {
        let results = simulated(7);
        let result = |id| &results.iter().find(|(e, _)| e.id == id).unwrap().1;
        let (home, neutral) = (result("demo_005"), result("demo_009"));

        assert_eq!(find("demo_009").unwrap().home_advantage, 0.0);
        assert!(home.probabilities.home > neutral.probabilities.home + 0.1);
        assert!(home.probabilities.away < neutral.probabilities.away - 0.1);
    }

    #[test]
    fn the_catalogue_spreads_over_all_three_bands() {
        for seed in [1, 42, 2024] {
            let bands: Vec<RiskBand> = simulated(seed).iter().map(|(_, s)| s.risk.band).collect();

            for band in [RiskBand::Low, RiskBand::Medium, RiskBand::High] {
                assert!(bands.contains(&band), "no {band:?} match with seed {seed}");
            }
        }
    }
}
