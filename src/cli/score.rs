//! `fangsheng score`: abilities from responses and known item parameters.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args as ClapArgs;
use fangsheng::bank::ParamSet;
use fangsheng::data::{ResponseMatrix, read_responses_from};
use fangsheng::estimate::{
    Ability, AbilityPrior, Estimator, Method, Quadrature, Status, score_matrix,
};
use fangsheng::model::Irf;

use super::input::ResponseArgs;
use super::output::{AbilityRow, emit, write_abilities};

/// The embedded demo: a simulated calibration and simulated past runs.
const DEMO_PARAMS: &str = include_str!("../../calibration/demo/v1.json");
const DEMO_RESPONSES: &str = include_str!("../../calibration/demo/runs.csv");

/// Flags of `fangsheng score`.
#[derive(Debug, ClapArgs)]
#[command(
    after_help = "Examples (from the repository root; outputs go to the current folder):
  fangsheng score --demo
  fangsheng score --params calibration/demo/v1.json --responses calibration/demo/runs.csv --out abilities.csv
  fangsheng score -p calibration/demo/v1.json -r calibration/demo/runs.csv --method ml --bounds -4,4 \\
      --json --out abilities.json
  fangsheng score -p calibration/demo/v1.json -r calibration/demo/runs.csv --method eap \\
      --quad-points 33 --quad-range -4,4 --out catr-grid.csv
  fangsheng score -p calibration/demo/v1.json -r calibration/demo/runs.csv --prior-df 4 --out t-prior.csv
  fangsheng score -p calibration/demo/v1.json -r calibration/demo/runs.csv --layout long \\
      --columns model,item,correct --out named.csv

A long response file has a model, an item and a score column, found by name
or named with --columns; a wide one has a row per model and a column per item
(--layout transposed: a row per item). Blank and NA cells were not
administered. The CSV has the columns model,theta,se,n_items, with an empty
cell for a number that is not finite (the infinite SE of an ML estimate
without responses); --json writes null there and adds each estimate's status."
)]
pub struct Args {
    /// Item parameter file (fangsheng-params/1 JSON, or CSV). [default:
    /// none, required unless --demo]
    #[arg(
        long,
        short = 'p',
        value_name = "FILE",
        required_unless_present = "demo"
    )]
    params: Option<PathBuf>,

    #[command(flatten)]
    input: ResponseArgs,

    /// Score the embedded demo bank and runs (no files needed).
    #[arg(long, conflicts_with_all = ["params", "responses"])]
    demo: bool,

    /// Estimator: eap (posterior mean), map (posterior mode), ml (maximum
    /// likelihood) or wle (Warm's weighted likelihood).
    #[arg(long, short = 'm', default_value = "eap")]
    method: String,

    /// Mean of the ability prior (eap, map; a t prior's location).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    prior_mean: f64,

    /// Standard deviation of the ability prior (eap, map; a t prior's scale).
    #[arg(long, default_value_t = 1.0)]
    prior_sd: f64,

    /// Student-t ability prior with this many degrees of freedom, truncated
    /// to mean +- 12 SD (eap, map). [default: none, a normal prior]
    #[arg(long, value_name = "DF")]
    prior_df: Option<f64>,

    /// EAP: use a fixed grid of this many equally spaced points instead of
    /// adaptive quadrature (catR uses 33). [default: none, adaptive]
    #[arg(long, value_name = "N")]
    quad_points: Option<usize>,

    /// EAP: range of the fixed grid, as LO,HI.
    #[arg(
        long,
        value_name = "LO,HI",
        default_value = "-4,4",
        allow_hyphen_values = true
    )]
    quad_range: String,

    /// ML and WLE: search range for theta, as LO,HI; estimates of
    /// all-correct or all-wrong patterns sit at these bounds.
    #[arg(
        long,
        value_name = "LO,HI",
        default_value = "-6,6",
        allow_hyphen_values = true
    )]
    bounds: String,

    /// Output file, written atomically. [default: standard output]
    #[arg(long, short = 'o', value_name = "FILE")]
    out: Option<PathBuf>,

    /// Write JSON instead of CSV.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let estimator = estimator(&args)?;
    let (params, responses) = if args.demo {
        let src = Path::new("<embedded demo calibration/demo/v1.json>");
        let params = ParamSet::from_json_str(DEMO_PARAMS, src)?.params;
        let runs = Path::new("<embedded demo calibration/demo/runs.csv>");
        let responses =
            read_responses_from(DEMO_RESPONSES.as_bytes(), runs, &args.input.read_options()?)?;
        (params, responses)
    } else {
        let path = args
            .params
            .as_deref()
            .context("--params FILE is required")?;
        let loaded = ParamSet::load(path)?;
        for w in &loaded.warnings {
            eprintln!("warning: {w}");
        }
        (loaded.params, args.input.read()?)
    };
    let abilities = score(
        &params,
        &responses,
        &estimator,
        args.input.responses.as_deref(),
    )?;
    let rows: Vec<AbilityRow> = responses
        .examinees()
        .iter()
        .zip(&abilities)
        .map(|(id, a)| AbilityRow {
            model: id.as_str(),
            theta: a.theta,
            se: a.se,
            n_items: a.n_items,
            status: Some(a.status),
        })
        .collect();
    emit(args.out.as_deref(), |w| {
        write_abilities(w, &rows, args.json)
    })?;
    eprintln!(
        "scored {} examinees on {} items ({} responses) with {}",
        responses.n_examinees(),
        responses.n_items(),
        responses.n_responses(),
        estimator.method()
    );
    let notes = status_notes(
        responses.examinees(),
        &abilities,
        &args.bounds,
        estimator.method(),
    );
    for note in notes {
        eprintln!("note: {note}");
    }
    Ok(())
}

/// Says which estimates are not interior ones, since the CSV has no status
/// column and an ML estimate sitting at `+6` reads like a real ability.
fn status_notes<S: AsRef<str>>(
    examinees: &[S],
    abilities: &[Ability],
    bounds: &str,
    method: Method,
) -> Vec<String> {
    let named = |status: Status| {
        let ids: Vec<&str> = examinees
            .iter()
            .zip(abilities)
            .filter(|(_, a)| a.status == status)
            .map(|(id, _)| id.as_ref())
            .collect();
        let mut list = ids.iter().take(5).copied().collect::<Vec<_>>().join(", ");
        if ids.len() > 5 {
            list.push_str(&format!(", and {} more", ids.len() - 5));
        }
        (ids.len(), list)
    };
    let mut notes = Vec::new();
    let (n, list) = named(Status::Boundary);
    if n > 0 {
        let finite = if method == Method::Wle {
            "eap or map"
        } else {
            "eap, map or wle"
        };
        notes.push(format!(
            "{n} of {} estimates sit at a bound of --bounds {bounds}, where the likelihood still \
             rises (all-correct or all-wrong patterns): {list}; {finite} give finite ones",
            abilities.len()
        ));
    }
    let (n, list) = named(Status::NoResponses);
    if n > 0 {
        notes.push(format!(
            "{n} examinees have no usable response (their row is the prior's mean and sd for \
             eap and map, the middle of the bounds with an infinite se for ml and wle): {list}"
        ));
    }
    notes
}

fn score(
    params: &ParamSet,
    responses: &ResponseMatrix,
    estimator: &Estimator,
    source: Option<&Path>,
) -> anyhow::Result<Vec<Ability>> {
    let columns = params.align(responses).map_err(|e| match source {
        Some(p) => e.in_file(p),
        None => e,
    })?;
    let irfs: Vec<&Irf> = columns.iter().map(|&c| &params.items()[c].irf).collect();
    Ok(score_matrix(estimator, responses, &irfs))
}

fn estimator(args: &Args) -> anyhow::Result<Estimator> {
    let method: Method = args.method.parse()?;
    let df = args.prior_df.unwrap_or(f64::INFINITY);
    let prior = AbilityPrior::student_t(args.prior_mean, args.prior_sd, df)
        .with_context(|| format!("--prior-df {df}"))?;
    let (lo, hi) = parse_range(&args.bounds, "--bounds")?;
    let mut est = Estimator::new(method).prior(prior).bounds(lo, hi);
    if let Some(points) = args.quad_points {
        if points < 2 {
            bail!("--quad-points must be at least 2, got {points}");
        }
        let (qlo, qhi) = parse_range(&args.quad_range, "--quad-range")?;
        est = est.quadrature(Quadrature::Fixed {
            points,
            lo: qlo,
            hi: qhi,
        });
    }
    Ok(est)
}

/// Parses `LO,HI` with `LO < HI`, both finite.
pub fn parse_range(text: &str, flag: &str) -> anyhow::Result<(f64, f64)> {
    let parsed = text
        .split_once(',')
        .and_then(|(a, b)| Some((a.trim().parse::<f64>().ok()?, b.trim().parse::<f64>().ok()?)));
    match parsed {
        Some((lo, hi)) if lo.is_finite() && hi.is_finite() && lo < hi => Ok((lo, hi)),
        _ => bail!("{flag} takes LO,HI with LO < HI, got '{text}'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn parse(extra: &[&str]) -> Args {
        let mut argv = vec!["score", "--demo"];
        argv.extend_from_slice(extra);
        Cli::try_parse_from(argv).unwrap().args
    }

    #[test]
    fn notes_name_boundary_and_empty_estimates_and_say_how_many_more() {
        let at = |theta: f64, status: Status| Ability {
            theta,
            se: 1.0,
            n_items: 3,
            status,
        };
        let ids: Vec<String> = (0..8).map(|i| format!("m{i}")).collect();
        let mut abilities = vec![at(6.0, Status::Boundary); 7];
        abilities.push(at(0.0, Status::NoResponses));
        let notes = status_notes(&ids, &abilities, "-6,6", Method::Ml);
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(
            notes[0].starts_with("7 of 8 estimates sit at a bound of --bounds -6,6")
                && notes[0].contains(": m0, m1, m2, m3, m4, and 2 more; eap, map or wle"),
            "{}",
            notes[0]
        );
        assert!(
            notes[1].starts_with("1 examinees have no usable response")
                && notes[1].ends_with(": m7"),
            "{}",
            notes[1]
        );
        let wle = status_notes(&ids[..1], &abilities[..1], "-4,4", Method::Wle);
        assert!(
            wle[0].contains("; eap or map give finite ones"),
            "{}",
            wle[0]
        );
        let interior = vec![at(0.3, Status::Converged); 2];
        assert!(status_notes(&ids[..2], &interior, "-6,6", Method::Ml).is_empty());
    }

    #[test]
    fn prior_df_gives_a_t_prior_and_bad_df_is_an_error() {
        let normal = estimator(&parse(&[])).unwrap();
        assert_eq!(normal, Estimator::new(Method::Eap));
        let t = estimator(&parse(&["--prior-df", "4", "--prior-sd", "2"])).unwrap();
        let want =
            Estimator::new(Method::Eap).prior(AbilityPrior::student_t(0.0, 2.0, 4.0).unwrap());
        assert_eq!(t, want);
        for bad in ["0", "-3", "nan"] {
            let flag = format!("--prior-df={bad}");
            let err = estimator(&parse(&[&flag])).unwrap_err();
            assert!(
                format!("{err:#}").contains("degrees of freedom"),
                "{bad}: {err:#}"
            );
        }
    }
}
