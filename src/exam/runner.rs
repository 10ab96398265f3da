//! Running one exam: the adaptive loop with a backend, a journal, and
//! resumption from the journal.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use super::journal::{Contents, Header, JOURNAL_FORMAT, Journal, Step};
use super::result::{
    AppliedGroupLink, AppliedLink, Calibration, ExamResult, PromptRecord, RESULT_FORMAT,
};
use crate::bank::{Item, ItemBank, ItemType, ParamSet, UsedVariants};
use crate::cat::{
    Answer, CatBank, IntervalBasis, LengthLink, NextItem, Plan, Respondent, Session, Tags,
    run_session,
};
use crate::error::{Error, ErrorKind, Result};
use crate::export::utc_now;
use crate::grade::{AnswerKey, Grader, Outcome};
use crate::io::sha256_hex;
use crate::prompt::{PromptConfig, PromptSpec, render};
use crate::respond::{Backend, BackendErrorKind, TokenUsage};

/// The software recorded in results.
const SOFTWARE: &str = concat!("fangsheng ", env!("CARGO_PKG_VERSION"));

/// Level of the reported intervals, and its normal quantile.
const LEVEL: f64 = 0.95;
const Z_LEVEL: f64 = 1.959_963_984_540_054;

/// Everything an exam is bound to, checked and ready: the bank's content,
/// its calibration, the plan, the prompt settings and the seed.
pub struct Exam {
    bank: ItemBank,
    params: ParamSet,
    params_digest: String,
    plan: Plan,
    prompt_spec: PromptSpec,
    prompt: PromptConfig,
    prompt_record: PromptRecord,
    cat: Arc<CatBank>,
    seed: u64,
    used: Arc<UsedVariants>,
    /// The score link of the exam's length and where it came from.
    score_link: Option<(LengthLink, String)>,
}

/// What an exam reports while it runs.
#[derive(Debug)]
pub enum Progress<'a> {
    /// A step was journalled (`replayed` when read back on resume).
    Step {
        /// The step.
        step: &'a Step,
        /// Whether it came from the journal rather than the backend.
        replayed: bool,
    },
    /// Something worth saying that does not stop the exam.
    Note(&'a str),
}

/// The answer key of a bank item: the key letter of a multiple-choice item,
/// the text, number (with its tolerances) or pattern of the others.
///
/// # Errors
/// [`ErrorKind::Item`] for a multiple-choice item without a key letter or a
/// numeric item whose answer is not a number.
pub fn answer_key(item: &Item) -> Result<AnswerKey> {
    let bad = |what: &str| Error::new(ErrorKind::Item, what.to_owned()).for_item(item.id.as_str());
    Ok(match item.kind {
        ItemType::MultipleChoice => AnswerKey::Choice {
            letter: item.key_letter().ok_or_else(|| bad("no key letter"))?,
            n_choices: item.choices.len(),
        },
        ItemType::Exact => AnswerKey::Exact {
            answer: item.answer.clone(),
        },
        ItemType::Numeric => AnswerKey::Numeric {
            value: item
                .numeric_answer()
                .ok_or_else(|| bad("the answer is not a number"))?,
            abs_tol: item.tolerance(),
            rel_tol: item.rel_tolerance(),
        },
        ItemType::Regex => AnswerKey::Regex {
            pattern: item.answer.clone(),
        },
    })
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

impl Exam {
    /// An exam of `bank` with the calibration `params` (whose file bytes were
    /// `params_bytes`, for the digest). Items of `params` without content in
    /// the bank are never asked; bank items without parameters cannot be.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when no calibrated item has content, or the
    /// prompt settings are invalid; the errors of [`Session::new`] for a plan
    /// the bank cannot satisfy.
    pub fn new(
        bank: ItemBank,
        params: ParamSet,
        params_bytes: &[u8],
        mut plan: Plan,
        prompt_spec: PromptSpec,
        seed: u64,
    ) -> Result<Self> {
        resolve_pretest(&mut plan, &bank, &params)?;
        let mut tags = HashMap::new();
        let mut missing = Vec::new();
        for p in params.items() {
            match bank.get(p.id.as_str()) {
                Some(item) => {
                    tags.insert(p.id.clone(), Tags::of_item(item));
                }
                None => missing.push(p.id.as_str().to_owned()),
            }
        }
        if tags.is_empty() {
            return Err(Error::config(format!(
                "no calibrated item is in the bank '{}' (wrong --params?)",
                bank.name()
            )));
        }
        let cat = CatBank::new(&params)?.with_tags(&tags)?.exclude(&missing)?;
        let prompt = prompt_spec.build(&bank)?;
        let calibrated_format = params.metadata().prompt_format().map(str::to_owned);
        let format = prompt_spec.format_name().to_owned();
        let prompt_record = PromptRecord {
            covered: calibrated_format.as_ref().map(|c| *c == format),
            format,
            hash: prompt_spec.hash()?,
            calibrated_format,
        };
        let cat = Arc::new(cat);
        // Fail now, not after the first request, on a plan the bank rejects.
        Session::new(Arc::clone(&cat), plan.clone(), seed)?;
        Ok(Exam {
            bank,
            params,
            params_digest: sha256_hex(params_bytes),
            plan,
            prompt_spec,
            prompt,
            prompt_record,
            cat,
            seed,
            used: UsedVariants::new(),
            score_link: None,
        })
    }

    /// This exam drawing template variants against `used`, the set a whole
    /// campaign shares: the exams given the same set, and the journals
    /// whose variants were added to it (`used.extend(contents.variants())`,
    /// see [`Contents::variants`]),
    /// never get the same variant of a template while unused ones remain.
    /// Without it, an exam has a set of its own.
    pub fn with_used_variants(mut self, used: Arc<UsedVariants>) -> Self {
        self.used = used;
        self
    }

    /// This exam reporting its bank score through `link`, the line of a
    /// score-link file fitted for the exam's plan
    /// ([`ScoreLinkFile::length_for`](crate::cat::ScoreLinkFile::length_for)),
    /// read from `source` (recorded in the result). Its group lines, if
    /// any, link the category and dimension scores they cover; the other
    /// groups keep the model's own score.
    pub fn with_score_link(mut self, link: LengthLink, source: impl Into<String>) -> Self {
        self.score_link = Some((link, source.into()));
        self
    }

    /// The prompt this exam asks under, and whether its calibration covers
    /// it.
    pub fn prompt_record(&self) -> &PromptRecord {
        &self.prompt_record
    }

    /// The set of used template variants this exam draws against.
    pub fn used_variants(&self) -> &Arc<UsedVariants> {
        &self.used
    }

    /// The header of this exam's journal for `backend`.
    pub fn header(&self, backend: &dyn Backend) -> Header {
        Header {
            format: JOURNAL_FORMAT.to_owned(),
            bank: self.bank.name().to_owned(),
            bank_digest: self.bank.digest().to_owned(),
            params_version: self.params.metadata().version.clone(),
            params_digest: self.params_digest.clone(),
            plan: serde_json::to_value(&self.plan).unwrap_or_default(),
            prompt: serde_json::to_value(&self.prompt_spec).unwrap_or_default(),
            seed: self.seed,
            backend: backend.describe(),
        }
    }

    /// Why a journal written under `old` cannot be resumed by this exam.
    fn mismatch(&self, old: &Header, new: &Header) -> Option<String> {
        if old.bank_digest != new.bank_digest {
            return Some(format!(
                "the journal is from another item bank ('{}', digest {}) than this one ('{}', digest {})",
                old.bank, old.bank_digest, new.bank, new.bank_digest
            ));
        }
        if old.params_digest != new.params_digest {
            let v = |v: &Option<String>| v.clone().unwrap_or_else(|| "unversioned".into());
            return Some(format!(
                "the journal is from another calibration (version {}, digest {}) than --params (version {}, digest {})",
                v(&old.params_version),
                old.params_digest,
                v(&new.params_version),
                new.params_digest
            ));
        }
        let mut old_plan = old.plan.clone();
        crate::cat::fill_saved_ties(&mut old_plan);
        if !crate::cat::same_plan(&old_plan, &new.plan) {
            return Some(format!(
                "the journal's exam plan differs: it ran {old_plan}, this run has {}",
                new.plan
            ));
        }
        if old.prompt != new.prompt {
            return Some("the journal's prompt settings differ from this run's".to_owned());
        }
        if old.seed != new.seed {
            return Some(format!(
                "the journal's seed is {}, this run's is {}",
                old.seed, new.seed
            ));
        }
        None
    }
}

/// Fills an empty pretest pool with the bank's items that have no
/// calibrated parameters, and checks that every pool item has content.
fn resolve_pretest(plan: &mut Plan, bank: &ItemBank, params: &ParamSet) -> Result<()> {
    let Some(pretest) = plan.pretest.as_mut() else {
        return Ok(());
    };
    if pretest.items.is_empty() {
        pretest.items = bank
            .items()
            .iter()
            .filter(|i| params.index_of(i.id.as_str()).is_none())
            .map(|i| i.id.clone())
            .collect();
        if pretest.items.is_empty() {
            return Err(Error::config(format!(
                "pretest: every item of the bank '{}' is calibrated; list pretest.items",
                bank.name()
            )));
        }
    }
    match pretest
        .items
        .iter()
        .find(|id| bank.get(id.as_str()).is_none())
    {
        Some(id) => {
            Err(Error::config("pretest: an item with no content in the bank").for_item(id.as_str()))
        }
        None => Ok(()),
    }
}

/// A fresh variant of a template item (none for other items), marked used
/// in the exam's set before it is asked; its seed is the exam's.
fn draw_variant(
    exam: &Exam,
    item: &Item,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Option<crate::bank::Draw>> {
    let Some(template) = &item.template else {
        return Ok(None);
    };
    let id = item.id.as_str();
    loop {
        let draw = template.draw(item, exam.seed, &exam.used)?;
        // The campaign's other exams run concurrently and share the set: one
        // of them may have claimed the same variant since this draw looked
        // (same seed, same first choice). Claiming is atomic; a lost claim
        // draws again, and the set only grows, so this ends.
        let claimed = exam.used.insert(id, &draw.variant);
        if draw.repeated {
            progress(Progress::Note(&format!(
                "every variant of template '{id}' has been used in this campaign; repeating one"
            )));
            return Ok(Some(draw));
        }
        if claimed {
            return Ok(Some(draw));
        }
    }
}

/// The variant a journalled step asked of a template item, rebuilt from its
/// slot values and marked used (none for other items).
fn journalled_variant(exam: &Exam, item: &Item, step: &Step) -> Result<Option<Item>> {
    let Some(template) = &item.template else {
        return Ok(None);
    };
    let Some(recorded) = &step.variant else {
        return Err(Error::config(format!(
            "item '{}' is a template, but the journal records no variant",
            item.id
        )));
    };
    let (variant_item, variant) = template.instance(item, &recorded.slots)?;
    if variant.answer != recorded.answer || variant.key != recorded.key {
        return Err(Error::config(format!(
            "the template of item '{}' now gives the answer '{}' where the journal has '{}'",
            item.id, variant.answer, recorded.answer
        )));
    }
    exam.used.insert(item.id.as_str(), &variant);
    Ok(Some(variant_item))
}

/// The answers of one exam: first the journal's steps on resume (each
/// checked to be the item the session chooses), then the backend's,
/// graded and journalled as they come.
struct Asker<'a, 'p> {
    exam: &'a Exam,
    backend: &'a dyn Backend,
    path: &'a Path,
    /// The journal's steps still to replay, with their numbers.
    journalled: std::iter::Enumerate<std::vec::IntoIter<Step>>,
    /// The journal read on resume, until it is reopened for the first new
    /// step (so a journal this exam refuses is left as it was).
    to_reopen: Option<Contents>,
    journal: Option<Journal>,
    /// The step being answered, and whether it came from the journal.
    pending: Option<(Step, bool)>,
    steps: Vec<Step>,
    progress: &'p mut dyn FnMut(Progress<'_>),
}

impl Asker<'_, '_> {
    /// The journal, reopened for appending on resume.
    fn journal(&mut self) -> Result<&mut Journal> {
        if let Some(contents) = self.to_reopen.take() {
            self.journal = Some(Journal::resume(self.path, &contents)?);
        }
        self.journal
            .as_mut()
            .ok_or_else(|| Error::config("the journal is not open").in_file(self.path))
    }

    /// The journalled step `n` (0-based), checked against the item the
    /// session chose, as the answer to replay.
    fn replayed(
        &mut self,
        session: &Session,
        next: NextItem,
        n: usize,
        step: Step,
    ) -> Result<Answer> {
        let refuse = |why: String| {
            Error::config(format!("cannot resume: step {}: {why}", n + 1)).in_file(self.path)
        };
        let chosen = session.item_id(next).as_str();
        if chosen != step.item_id || next.is_pretest() != step.pretest {
            return Err(refuse(format!(
                "the journal asked item '{}' where this exam chooses '{chosen}'",
                step.item_id
            )));
        }
        let exam = self.exam;
        let item = exam
            .bank
            .get(chosen)
            .ok_or_else(|| refuse(format!("item '{chosen}' has no content")))?;
        let variant = journalled_variant(exam, item, &step).map_err(|e| refuse(e.to_string()))?;
        let item = variant.as_ref().unwrap_or(item);
        if render(item, &exam.prompt).hash() != step.prompt_hash {
            return Err(refuse(format!(
                "the prompt of item '{chosen}' differs from the journalled one"
            )));
        }
        let answer = match step.score {
            Some(score) => Answer::Score(usize::from(score)),
            None => Answer::Skip,
        };
        self.pending = Some((step, true));
        Ok(answer)
    }

    /// Asks the backend for `next` and grades the reply.
    fn asked(&mut self, session: &Session, next: NextItem) -> Result<Answer> {
        self.journal()?;
        let exam = self.exam;
        let id = session.item_id(next).as_str();
        let item = exam.bank.get(id).ok_or_else(|| {
            Error::new(ErrorKind::Item, "calibrated but not in the bank").for_item(id)
        })?;
        let drawn = draw_variant(exam, item, self.progress)?;
        let item = drawn.as_ref().map_or(item, |d| &d.item);
        let prompt = render(item, &exam.prompt);
        let mut step = Step {
            step: self.steps.len() + 1,
            item_id: id.to_owned(),
            prompt_hash: prompt.hash().to_owned(),
            output: None,
            extracted: None,
            score: None,
            outcome: None,
            skipped: None,
            theta: 0.0,
            se: None,
            latency: 0.0,
            elapsed: 0.0,
            usage: None,
            attempts: 0,
            pretest: next.is_pretest(),
            variant: drawn.as_ref().map(|d| d.variant.clone()),
        };
        let answer = match self.backend.ask(&prompt, item) {
            Ok(reply) => {
                let grade = Grader::new(answer_key(item)?)
                    .map_err(|e| e.for_item(id))?
                    .grade(&reply.text);
                step.output = Some(reply.text);
                step.extracted = grade.extracted;
                step.score = Some(grade.score);
                step.outcome = Some(grade.outcome);
                step.latency = reply.latency.as_secs_f64();
                step.elapsed = reply.elapsed.as_secs_f64();
                step.usage = reply.usage;
                step.attempts = reply.attempts;
                Answer::Score(usize::from(grade.score))
            }
            Err(e) if e.kind() == BackendErrorKind::NotRecorded => {
                step.skipped = Some(e.message().to_owned());
                step.attempts = e.attempts();
                Answer::Skip
            }
            Err(e) => {
                return Err(Error::new(
                    ErrorKind::Io,
                    format!(
                        "{} failed on item '{id}' after {} attempt(s): {e}; the journal keeps the {} step(s) done, continue with --resume",
                        self.backend.describe(),
                        e.attempts(),
                        self.steps.len()
                    ),
                )
                .in_file(self.path));
            }
        };
        self.pending = Some((step, false));
        Ok(answer)
    }
}

impl Respondent for Asker<'_, '_> {
    type Error = Error;

    fn answer(&mut self, session: &Session, next: NextItem) -> Result<Option<Answer>> {
        match self.journalled.next() {
            Some((n, step)) => self.replayed(session, next, n, step),
            None => self.asked(session, next),
        }
        .map(Some)
    }

    fn recorded(&mut self, session: &Session, _: NextItem, _: Answer) -> Result<()> {
        let Some((mut step, replayed)) = self.pending.take() else {
            return Ok(());
        };
        if !replayed {
            let ability = session.estimate();
            step.theta = ability.theta;
            step.se = finite(ability.se);
            self.journal()?.append(&step)?;
        }
        (self.progress)(Progress::Step {
            step: &step,
            replayed,
        });
        self.steps.push(step);
        Ok(())
    }
}

/// Runs `exam` with `backend`, journalling to `journal`; with `resume`,
/// continues the exam the journal holds instead of starting one.
///
/// The journal's header records when the exam started and each step when it
/// was journalled; the result has the exam's `started` (a resumed exam
/// keeps the journal's) and `finished` times. Times are UTC, RFC 3339, from
/// [`crate::export::utc_now`] (`SOURCE_DATE_EPOCH` pins them).
///
/// A backend failure that its retries did not cure stops the exam with an
/// error naming the backend; the journal keeps every answered step. Items
/// the backend has no answer for ([`BackendErrorKind::NotRecorded`]) are
/// skipped, journalled and counted.
///
/// # Errors
/// The journal exists (without `resume`) or cannot be written; on resume,
/// a journal from another bank, calibration, plan, prompt or seed, or whose
/// items this exam would not have chosen ([`ErrorKind::Config`], saying
/// which); a backend failure; a malformed `SOURCE_DATE_EPOCH`.
pub fn run(
    exam: &Exam,
    backend: &dyn Backend,
    journal_path: &Path,
    resume: bool,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<ExamResult> {
    let header = exam.header(backend);
    let session = Session::new(Arc::clone(&exam.cat), exam.plan.clone(), exam.seed)?;
    let (journalled, to_reopen, journal) = if resume && journal_path.exists() {
        let contents = Journal::read(journal_path)?;
        if let Some(w) = &contents.warning {
            progress(Progress::Note(w));
        }
        if let Some(why) = exam.mismatch(&contents.header, &header) {
            return Err(Error::config(format!("cannot resume: {why}")).in_file(journal_path));
        }
        if contents.header.backend != header.backend {
            progress(Progress::Note(&format!(
                "the journal was answered by {}, this run by {}",
                contents.header.backend, header.backend
            )));
        }
        (contents.steps.clone(), Some(contents), None)
    } else {
        (
            Vec::new(),
            None,
            Some(Journal::create(journal_path, &header)?),
        )
    };
    let mut asker = Asker {
        exam,
        backend,
        path: journal_path,
        journalled: journalled.into_iter().enumerate(),
        to_reopen,
        journal,
        pending: None,
        steps: Vec::new(),
        progress,
    };
    let finished = run_session(session, &mut asker)?;
    if let Some((n, step)) = asker.journalled.next() {
        return Err(Error::config(format!(
            "cannot resume: step {}: the exam had already stopped, yet item '{}' was asked",
            n + 1,
            step.item_id
        ))
        .in_file(journal_path));
    }
    let started = asker.journal()?.started().map(str::to_owned);
    let times = Times {
        started,
        finished: Some(utc_now()?),
    };
    Ok(result(
        exam,
        backend,
        &finished.session,
        &asker.steps,
        times,
    ))
}

/// When an exam started and finished.
struct Times {
    started: Option<String>,
    finished: Option<String>,
}

fn result(
    exam: &Exam,
    backend: &dyn Backend,
    session: &Session,
    steps: &[Step],
    times: Times,
) -> ExamResult {
    let ability = session.estimate();
    let se = finite(ability.se);
    let mut tokens = TokenUsage::default();
    for u in steps.iter().filter_map(|s| s.usage) {
        tokens.prompt += u.prompt;
        tokens.completion += u.completion;
    }
    // Pretest steps are not part of the exam's result.
    let answered = || steps.iter().filter(|s| s.score.is_some() && !s.pretest);
    let meta = exam.params.metadata();
    let request = backend.request();
    let mut predicted_score = session.prediction(LEVEL);
    // Without a line of the error model, an interval is the posterior's.
    for g in predicted_score
        .category
        .iter_mut()
        .chain(predicted_score.dimension.iter_mut())
    {
        g.interval = Some(IntervalBasis::Posterior);
    }
    let mut bank_interval = IntervalBasis::Posterior;
    let score_link = exam.score_link.as_ref().map(|(line, source)| {
        let link = line.link;
        let unlinked = predicted_score.bank;
        predicted_score.bank = link.apply_score(unlinked, LEVEL);
        let mut groups = Vec::new();
        let tagged = [
            ("category", &mut predicted_score.category),
            ("dimension", &mut predicted_score.dimension),
        ];
        for (tag, scores) in tagged {
            for g in scores.iter_mut() {
                let group = line
                    .groups
                    .iter()
                    .find(|l| l.tag == tag && l.value == g.value);
                if let Some(group) = group {
                    groups.push(AppliedGroupLink {
                        tag: tag.to_owned(),
                        value: g.value.clone(),
                        link: group.link,
                        unlinked: g.score,
                    });
                    g.score = group.link.apply_score(g.score, LEVEL);
                    g.interval = Some(IntervalBasis::of_line(group.coverage));
                }
            }
        }
        bank_interval = IntervalBasis::of_line(line.coverage);
        AppliedLink {
            link,
            items: line.items,
            source: source.clone(),
            unlinked,
            groups,
        }
    });
    ExamResult {
        format: RESULT_FORMAT.to_owned(),
        backend: backend.describe(),
        theta: ability.theta,
        se,
        interval: se.map(|se| [ability.theta - Z_LEVEL * se, ability.theta + Z_LEVEL * se]),
        level: LEVEL,
        predicted_score,
        score_link,
        items_used: answered().count(),
        skipped: steps
            .iter()
            .filter(|s| s.score.is_none() && !s.pretest)
            .count(),
        unparseable: answered()
            .filter(|s| s.outcome == Some(Outcome::Unparseable))
            .count(),
        correct: answered().filter(|s| s.score == Some(1)).count(),
        items: answered().map(|s| s.item_id.clone()).collect(),
        stop_reason: session
            .stop_reason()
            .map_or_else(|| "none".to_owned(), |r| r.name().to_owned()),
        bank: exam.bank.name().to_owned(),
        bank_digest: exam.bank.digest().to_owned(),
        calibration: Calibration {
            bank: meta.bank.clone(),
            version: meta.version.clone(),
            digest: exam.params_digest.clone(),
        },
        seed: exam.seed,
        tokens,
        latency_seconds: steps.iter().map(|s| s.latency).sum(),
        elapsed_seconds: steps.iter().map(|s| s.elapsed).sum(),
        attempts: steps.iter().map(|s| u64::from(s.attempts)).sum(),
        started: times.started,
        finished: times.finished,
        software: SOFTWARE.to_owned(),
        in_sample: request.as_ref().and_then(|r| meta.fitted_on(&r.model)),
        request,
        prompt: Some(exam.prompt_record.clone()),
        error_model: exam.score_link.is_some(),
        bank_interval: Some(bank_interval),
    }
}
