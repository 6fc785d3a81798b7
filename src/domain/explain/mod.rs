//! Plain-English explanation of a simulation.
//!
//! Every sentence comes from a fixed template in [`TEMPLATES`]; the only
//! variable parts are numbers and the team names. Keeping the wording in one
//! list lets tests check all of it, and team names are inserted verbatim in a
//! single pass so they are echoed exactly as given (a name that happens to
//! contain a placeholder such as `{away}` is not expanded). The words for the
//! uncertainty score (its band and the favourite) are in `uncertainty`.

mod uncertainty;
#[cfg(test)]
mod vocabulary;

pub use uncertainty::{
    BAND_HIGH, BAND_LOW, BAND_MEDIUM, FAVOURITE_IS, FAVOURITE_NONE, RATIONALE_HIGH, RATIONALE_LOW,
    RATIONALE_MEDIUM, SHARE_ABOUT, SHARE_FEW, SHARE_NEARLY_ALL, SHARE_ONE, rationale,
};
use uncertainty::{band_word, describe};

use super::engine::{ScenarioName, Simulation};

#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeNote {
    /// `"home_win"`, `"draw"` or `"away_win"`.
    pub name: String,
    pub probability: f64,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    pub summary: String,
    pub scenarios: Vec<OutcomeNote>,
    pub caveats: Vec<String>,
}

pub const SUMMARY: &str = "{home} (playing at home) and {away} were compared in {iterations} \
simulated matches based only on their ratings. {home} won {home_pct} of them, {draw_pct} \
ended in a draw and {away} won {away_pct}.";
pub const SUMMARY_STRONGER: &str = " Including home advantage, the model rates {team} as \
the stronger side by {gap} rating points.";
pub const SUMMARY_LEVEL: &str = " Including home advantage, the model rates the two sides \
as evenly matched.";
pub const SUMMARY_UNCERTAINTY: &str = " Uncertainty score: {score} out of 100 ({band}). \
{rationale}";
pub const OUTCOME_HOME: &str = "{home} wins in {pct} of the simulated matches (95% interval \
{lower} to {upper}); the model's exact formula gives {analytic}.";
pub const OUTCOME_DRAW: &str = "The match ends in a draw in {pct} of the simulated matches \
(95% interval {lower} to {upper}); the model's exact formula gives {analytic}.";
pub const OUTCOME_AWAY: &str = "{away} wins in {pct} of the simulated matches (95% interval \
{lower} to {upper}); the model's exact formula gives {analytic}.";

pub const CAVEAT_PRECISION: &str = "These percentages come from {iterations} random \
simulations, so they carry sampling noise: the widest 95% interval spans {width} percentage \
points. More iterations make the intervals narrower.";
pub const CAVEAT_SCENARIOS: &str = "The scenarios show how much the picture depends on \
assumptions: the conservative scenario keeps results closer to the ratings ({home} wins \
{cons_home}, draw {cons_draw}), while the aggressive scenario allows more surprises ({home} \
wins {aggr_home}, draw {aggr_draw}).";
pub const CAVEAT_RATINGS_ONLY: &str = "The model only knows the two ratings and the home \
advantage. It knows nothing about injuries, form, weather, line-ups or tactics.";
pub const CAVEAT_TEACHING: &str = "This is a teaching tool for exploring probability and \
uncertainty, not a prediction of what will happen.";

/// Every fixed text fragment that can appear in an explanation.
pub const TEMPLATES: &[&str] = &[
    SUMMARY,
    SUMMARY_STRONGER,
    SUMMARY_LEVEL,
    SUMMARY_UNCERTAINTY,
    BAND_LOW,
    BAND_MEDIUM,
    BAND_HIGH,
    RATIONALE_LOW,
    RATIONALE_MEDIUM,
    RATIONALE_HIGH,
    FAVOURITE_IS,
    FAVOURITE_NONE,
    SHARE_ABOUT,
    SHARE_ONE,
    SHARE_NEARLY_ALL,
    SHARE_FEW,
    OUTCOME_HOME,
    OUTCOME_DRAW,
    OUTCOME_AWAY,
    CAVEAT_PRECISION,
    CAVEAT_SCENARIOS,
    CAVEAT_RATINGS_ONLY,
    CAVEAT_TEACHING,
];

/// Replaces `{key}` placeholders in one left-to-right pass. Inserted values are
/// never scanned again; unknown placeholders are left as they are.
fn render(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            rest = &rest[open..];
            break;
        };
        let key = &after[..close];
        match values.iter().find(|(k, _)| *k == key) {
            Some((_, value)) => out.push_str(value),
            None => out.push_str(&rest[open..open + close + 2]),
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

fn percent(p: f64) -> String {
    format!("{:.1}%", 100.0 * p)
}

/// Builds the explanation of `sim` for the given team names.
pub fn explain(home_team: &str, away_team: &str, sim: &Simulation) -> Explanation {
    let p = &sim.probabilities;
    let iterations = sim.iterations.to_string();

    let mut summary = render(
        SUMMARY,
        &[
            ("home", home_team),
            ("away", away_team),
            ("iterations", &iterations),
            ("home_pct", &percent(p.home)),
            ("draw_pct", &percent(p.draw)),
            ("away_pct", &percent(p.away)),
        ],
    );
    // The rating difference is recovered from the analytic Elo expected score
    // so the explanation needs nothing but the simulation.
    let elo = sim.expected_score.elo;
    let gap = 400.0 * (elo / (1.0 - elo)).log10();
    let rounded_gap = gap.abs().round();
    if rounded_gap >= 1.0 {
        let stronger = if gap > 0.0 { home_team } else { away_team };
        summary.push_str(&render(
            SUMMARY_STRONGER,
            &[("team", stronger), ("gap", &format!("{rounded_gap:.0}"))],
        ));
    } else {
        summary.push_str(SUMMARY_LEVEL);
    }
    summary.push_str(&render(
        SUMMARY_UNCERTAINTY,
        &[
            ("score", &format!("{:.0}", sim.risk.score)),
            ("band", band_word(sim.risk.band)),
            ("rationale", &describe(&sim.risk, home_team, away_team)),
        ],
    ));

    let intervals = &sim.intervals_95;
    let outcomes = [
        (
            "home_win",
            OUTCOME_HOME,
            p.home,
            intervals.home,
            sim.analytic.home,
        ),
        (
            "draw",
            OUTCOME_DRAW,
            p.draw,
            intervals.draw,
            sim.analytic.draw,
        ),
        (
            "away_win",
            OUTCOME_AWAY,
            p.away,
            intervals.away,
            sim.analytic.away,
        ),
    ];
    let notes = outcomes
        .into_iter()
        .map(
            |(name, template, probability, interval, exact)| OutcomeNote {
                name: name.to_owned(),
                probability,
                description: render(
                    template,
                    &[
                        ("home", home_team),
                        ("away", away_team),
                        ("pct", &percent(probability)),
                        ("lower", &percent(interval.lower)),
                        ("upper", &percent(interval.upper)),
                        ("analytic", &percent(exact)),
                    ],
                ),
            },
        )
        .collect();

    let widest = [intervals.home, intervals.draw, intervals.away]
        .iter()
        .map(|i| i.upper - i.lower)
        .fold(0.0, f64::max);
    let mut caveats = vec![render(
        CAVEAT_PRECISION,
        &[
            ("iterations", &iterations),
            ("width", &format!("{:.1}", 100.0 * widest)),
        ],
    )];
    let scenario = |name: ScenarioName| {
        sim.scenarios
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.probabilities)
    };
    if let (Some(cons), Some(aggr)) = (
        scenario(ScenarioName::Conservative),
        scenario(ScenarioName::Aggressive),
    ) {
        caveats.push(render(
            CAVEAT_SCENARIOS,
            &[
                ("home", home_team),
                ("cons_home", &percent(cons.home)),
                ("cons_draw", &percent(cons.draw)),
                ("aggr_home", &percent(aggr.home)),
                ("aggr_draw", &percent(aggr.draw)),
            ],
        ));
    }
    caveats.push(CAVEAT_RATINGS_ONLY.to_owned());
    caveats.push(CAVEAT_TEACHING.to_owned());

    Explanation {
        summary,
        scenarios: notes,
        caveats,
    }
}

#[cfg(test)]
mod tests {
    use super::super::engine::{MatchParams, simulate};
    use super::vocabulary::gambling_vocabulary;
    use super::*;

    fn all_text(e: &Explanation) -> Vec<&str> {
        let mut texts = vec![e.summary.as_str()];
        texts.extend(e.scenarios.iter().map(|n| n.description.as_str()));
        texts.extend(e.caveats.iter().map(String::as_str));
        texts
    }

    fn params(home: f64, away: f64, adv: f64) -> MatchParams {
        MatchParams {
            home_rating: home,
            away_rating: away,
            home_advantage: adv,
        }
    }

    #[test]
    fn templates_contain_no_gambling_vocabulary() {
        for template in TEMPLATES {
            let found = gambling_vocabulary(template);
            assert!(found.is_empty(), "{found:?} in template {template:?}");
        }
    }

    #[test]
    fn generated_text_contains_no_gambling_vocabulary() {
        let matches = [
            ("Barcelona", "Real Madrid", params(2100.0, 2050.0, 100.0)),
            (
                "Manchester City",
                "Liverpool",
                params(2150.0, 2080.0, 100.0),
            ),
            (
                "Bayern Munich",
                "Borussia Dortmund",
                params(2120.0, 1950.0, 100.0),
            ),
            ("Home Town", "Away Town", params(1500.0, 1500.0, 0.0)),
            ("Giants", "Minnows", params(3000.0, 0.0, 300.0)),
            ("Minnows", "Giants", params(0.0, 3000.0, 0.0)),
        ];
        for (home, away, p) in matches {
            let e = explain(home, away, &simulate(&p, 10_000, 7));
            for text in all_text(&e) {
                let found = gambling_vocabulary(text);
                assert!(found.is_empty(), "{found:?} in {text:?}");
                assert!(!text.contains('{'), "unfilled placeholder in {text:?}");
            }
        }
    }

    #[test]
    fn team_names_are_echoed_verbatim() {
        let sim = simulate(&params(1800.0, 1700.0, 50.0), 1_000, 3);
        let e = explain("Odds FC", "{away} United", &sim);
        assert!(e.summary.contains("Odds FC"), "{}", e.summary);
        assert!(e.summary.contains("{away} United"), "{}", e.summary);
        assert!(e.scenarios[0].description.starts_with("Odds FC wins"));
        assert!(e.scenarios[2].description.starts_with("{away} United wins"));
    }

    #[test]
    fn explanation_mentions_uncertainty_and_limits() {
        let sim = simulate(&params(2100.0, 2050.0, 100.0), 5_000, 11);
        let e = explain("Barcelona", "Real Madrid", &sim);
        let names: Vec<&str> = e.scenarios.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["home_win", "draw", "away_win"]);
        assert_eq!(e.scenarios[0].probability, sim.probabilities.home);
        assert!(e.summary.contains("5000 simulated matches"));
        assert!(
            e.summary
                .contains("Barcelona as the stronger side by 150 rating points")
        );
        assert!(
            e.summary.contains("(medium). A medium score means"),
            "{}",
            e.summary
        );
        assert!(
            e.summary
                .contains("Here Barcelona is the favourite: it wins about 6 matches in 10"),
            "{}",
            e.summary
        );
        assert!(e.caveats[0].contains("95% interval spans"));
        assert!(e.caveats.iter().any(|c| c.contains("injuries")));
        assert!(e.caveats.iter().any(|c| c.contains("teaching tool")));
    }

    #[test]
    fn even_sides_are_described_as_evenly_matched() {
        let sim = simulate(&params(1500.0, 1500.0, 0.0), 1_000, 1);
        let e = explain("A", "B", &sim);
        assert!(e.summary.contains("evenly matched"), "{}", e.summary);
    }

    #[test]
    fn render_substitutes_in_one_pass() {
        assert_eq!(
            render("{a} and {b} {c}", &[("a", "{b}"), ("b", "x")]),
            "{b} and x {c}"
        );
        assert_eq!(render("open { end", &[]), "open { end");
    }
}
