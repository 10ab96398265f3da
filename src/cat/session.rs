//! One adaptive exam, step by step: select, (the caller asks and grades),
//! record, estimate, stop.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::bank::CatBank;
use super::content::due_group;
use super::design::Design;
use super::exposure::Exposure;
use super::plan::Plan;
use super::posterior::{GridPosterior, RunningPosterior};
use super::select::{self, Candidates, SelectRule};
use super::stop::StopReason;
use super::twins::Ties;
use crate::error::{Error, ErrorKind, Result};
use crate::estimate::Ability;
use crate::ids::ItemId;
use crate::model::{Irf, ResponseModel};
use crate::online::{NextItem, PretestSelect};

/// Where an item stands in one exam.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum ItemState {
    Available,
    Administered,
    /// Selected but without an answer (replay of incomplete records).
    Skipped,
    /// Excluded by the bank or plan, or an enemy of an administered item.
    Excluded,
    /// Set aside by the Sympson-Hetter filter for this exam.
    SetAside,
    /// Not drawn eligible by item-eligibility control for this exam.
    Ineligible,
}

/// An adaptive exam in progress.
///
/// ```
/// use std::sync::Arc;
/// use fangsheng::cat::{CatBank, Plan, Session};
/// use fangsheng::model::{Irf, Logistic};
///
/// let irfs: Vec<Irf> = (0..40)
///     .map(|j| Logistic::two_pl(1.0 + 0.02 * j as f64, -2.0 + 0.1 * j as f64).unwrap().into())
///     .collect();
/// let ids = (0..40).map(|j| format!("q{j}").into()).collect();
/// let bank = Arc::new(CatBank::from_parts(ids, irfs).unwrap());
/// let plan = Plan { max_items: 5, ..Plan::default() };
/// let mut session = Session::new(bank, plan, 42).unwrap();
/// while let Some(item) = session.next_item() {
///     // Ask the examinee; here every answer is correct.
///     session.record(item.as_str(), 1).unwrap();
/// }
/// assert_eq!(session.n_administered(), 5);
/// assert!(session.estimate().theta > 0.5);
/// println!("stopped: {}", session.stop_reason().unwrap());
/// ```
#[derive(Debug)]
pub struct Session {
    design: Arc<Design>,
    seed: u64,
    rng: ChaCha8Rng,
    state: Vec<ItemState>,
    /// Available items per (content group, stratum).
    available: Vec<usize>,
    /// Administered items per content group.
    counts: Vec<usize>,
    responses: Vec<(usize, usize)>,
    skipped: Vec<usize>,
    /// Items the selection rule picked, before the Sympson-Hetter filter.
    selections: Vec<usize>,
    pending: Option<usize>,
    stop: Option<StopReason>,
    ability: Ability,
    running: RunningPosterior,
    posterior: OnceCell<GridPosterior>,
    /// Pretest seeding, when the plan has a non-empty pool.
    pretest: Option<PretestRun>,
}

/// The pretest items of one exam: their slots, what was asked, and their
/// own random stream (stream 1 of the exam seed), so that seeding them
/// changes nothing operational.
#[derive(Debug)]
struct PretestRun {
    /// Pool position of each pool id.
    index: HashMap<ItemId, usize>,
    /// Provisional difficulty of each pool item.
    provisional: Vec<Option<f64>>,
    /// Operational answers before each slot, ascending.
    slots: Vec<usize>,
    used: Vec<bool>,
    /// `(pool index, score)` in order; `None` when skipped.
    asked: Vec<(usize, Option<usize>)>,
    pending: Option<usize>,
    rng: ChaCha8Rng,
}

impl PretestRun {
    fn new(plan: &Plan, seed: u64) -> Option<Self> {
        let p = plan.pretest.as_ref().filter(|p| !p.items.is_empty())?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(1);
        let (lo, hi) = p.slot_range(plan.max_items);
        let mut range: Vec<usize> = (lo..=hi).collect();
        let mut slots: Vec<usize> = if range.len() >= p.count {
            // Partial Fisher-Yates: `count` distinct slots.
            for i in 0..p.count {
                let k = rng.random_range(i..range.len());
                range.swap(i, k);
            }
            range.truncate(p.count);
            range
        } else {
            (0..p.count)
                .map(|_| range[rng.random_range(0..range.len())])
                .collect()
        };
        slots.sort_unstable();
        Some(PretestRun {
            index: p
                .items
                .iter()
                .enumerate()
                .map(|(i, id)| (id.clone(), i))
                .collect(),
            provisional: p
                .items
                .iter()
                .map(|id| p.provisional.get(id).copied())
                .collect(),
            slots,
            used: vec![false; p.items.len()],
            asked: Vec::new(),
            pending: None,
            rng,
        })
    }

    /// True when a slot is due after `n` operational answers (every
    /// remaining slot once the exam is `ending`) and an item is left.
    fn due(&self, n: usize, ending: bool) -> bool {
        self.asked.len() < self.slots.len()
            && (ending || self.slots[self.asked.len()] <= n)
            && self.used.iter().any(|&u| !u)
    }

    /// Picks the next pretest item at ability `theta` under rule `select`.
    fn pick(&mut self, select: PretestSelect, theta: f64, window: f64) -> Option<usize> {
        let unused = (0..self.used.len()).filter(|&i| !self.used[i]);
        let mut cands: Vec<usize> = match select {
            PretestSelect::Random => unused.collect(),
            PretestSelect::NearAbility => unused
                .filter(|&i| self.provisional[i].is_none_or(|b| (b - theta).abs() <= window))
                .collect(),
        };
        if cands.is_empty() {
            let closest = (0..self.used.len())
                .filter(|&i| !self.used[i])
                .min_by(|&x, &y| {
                    let d =
                        |i: usize| self.provisional[i].map_or(f64::INFINITY, |b| (b - theta).abs());
                    d(x).total_cmp(&d(y))
                })?;
            cands.push(closest);
        }
        let pick = cands[self.rng.random_range(0..cands.len())];
        self.pending = Some(pick);
        Some(pick)
    }

    fn take(&mut self, p: usize, score: Option<usize>, id: &str) -> Result<()> {
        match self.used.get(p) {
            None => Err(Error::new(
                ErrorKind::Item,
                format!("no pretest item at index {p}"),
            )),
            Some(true) => {
                Err(Error::new(ErrorKind::Item, "already administered in this exam").for_item(id))
            }
            Some(false) => {
                self.used[p] = true;
                self.asked.push((p, score));
                if self.pending == Some(p) {
                    self.pending = None;
                }
                Ok(())
            }
        }
    }
}

impl Session {
    /// A new exam of `plan` on `bank`, with the random choices (random
    /// start, randomesque, exposure filters) drawn from `seed`.
    ///
    /// # Errors
    /// As [`Design::new`]. To run many exams of one plan, build the
    /// [`Design`] once and use [`Session::start`].
    pub fn new(bank: Arc<CatBank>, plan: Plan, seed: u64) -> Result<Self> {
        Ok(Self::start(Arc::new(Design::new(bank, plan)?), seed))
    }

    /// A new exam of a prepared design.
    pub fn start(design: Arc<Design>, seed: u64) -> Self {
        let n = design.bank().len();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut state: Vec<ItemState> = design
            .excluded
            .iter()
            .map(|&x| {
                if x {
                    ItemState::Excluded
                } else {
                    ItemState::Available
                }
            })
            .collect();
        if let Exposure::Eligibility { .. } = design.plan().exposure {
            for (j, s) in state.iter_mut().enumerate() {
                let e = design.bank().exposure_param(j).unwrap_or(1.0);
                if *s == ItemState::Available && e < 1.0 && rng.random::<f64>() >= e {
                    *s = ItemState::Ineligible;
                }
            }
        }
        let pretest = PretestRun::new(design.plan(), seed);
        if let Some(p) = &pretest {
            // A pool item that is also calibrated is pretested, not scored.
            for id in p.index.keys() {
                if let Some(j) = design.bank().index_of(id.as_str()) {
                    state[j] = ItemState::Excluded;
                }
            }
        }
        let ability = design.estimation.estimate(&[], None);
        let plan = design.plan();
        let running = RunningPosterior::new(
            plan.ability_prior().unwrap_or_default(),
            plan.quadrature.map(|g| (g.points, g.lo, g.hi)),
        );
        let mut session = Session {
            available: Vec::new(),
            counts: vec![0; design.targets.len()],
            design,
            seed,
            rng,
            state,
            responses: Vec::new(),
            skipped: Vec::new(),
            selections: Vec::new(),
            pending: None,
            stop: None,
            ability,
            running,
            posterior: OnceCell::new(),
            pretest,
        };
        session.recount();
        debug_assert_eq!(session.state.len(), n);
        session
    }

    fn cell(&self, j: usize) -> usize {
        self.design.group[j] as usize * self.design.n_strata() + self.design.stratum[j] as usize
    }

    fn recount(&mut self) {
        self.available = vec![0; self.design.targets.len() * self.design.n_strata()];
        for j in 0..self.state.len() {
            if self.state[j] == ItemState::Available {
                let c = self.cell(j);
                self.available[c] += 1;
            }
        }
    }

    fn set_state(&mut self, j: usize, to: ItemState) {
        let c = self.cell(j);
        if self.state[j] == ItemState::Available {
            self.available[c] -= 1;
        }
        if to == ItemState::Available {
            self.available[c] += 1;
        }
        self.state[j] = to;
    }

    /// The design (plan on bank) this exam runs.
    pub fn design(&self) -> &Arc<Design> {
        &self.design
    }

    /// The bank.
    pub fn bank(&self) -> &Arc<CatBank> {
        self.design.bank()
    }

    /// The plan.
    pub fn plan(&self) -> &Plan {
        self.design.plan()
    }

    /// The seed the exam's random choices are drawn from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The recorded answers `(bank index, score)`, in order.
    pub fn responses(&self) -> &[(usize, usize)] {
        &self.responses
    }

    /// Number of answers recorded.
    pub fn n_administered(&self) -> usize {
        self.responses.len()
    }

    /// Items skipped for lack of an answer, in order.
    pub fn skipped(&self) -> &[usize] {
        &self.skipped
    }

    /// Administered items per content group (see [`Design::content_groups`]).
    pub fn content_counts(&self) -> &[usize] {
        &self.counts
    }

    pub(crate) fn selections(&self) -> &[usize] {
        &self.selections
    }

    /// The current ability estimate (the prior, or the estimator's
    /// no-response result, before any answer).
    pub fn estimate(&self) -> Ability {
        self.ability
    }

    /// Why the exam ended, once [`Session::next_item`] has returned `None`.
    pub fn stop_reason(&self) -> Option<StopReason> {
        self.stop
    }

    /// The posterior of theta given the answers so far, under the plan's
    /// prior (see [`GridPosterior`] for the grid).
    pub fn posterior(&self) -> &GridPosterior {
        self.posterior
            .get_or_init(|| self.running.posterior(&self.pattern()))
    }

    fn pattern(&self) -> Vec<(&Irf, usize)> {
        let irfs = self.design.bank().irfs();
        self.responses.iter().map(|&(j, k)| (&irfs[j], k)).collect()
    }

    /// The next item to ask, by id — operational or pretest (see
    /// [`Session::next_any`]); `None` when a stopping rule holds or no item is
    /// left ([`Session::stop_reason`] says which). Asking again before
    /// recording returns the same item.
    pub fn next_item(&mut self) -> Option<ItemId> {
        self.next_any().map(|n| self.item_id(n).clone())
    }

    /// The next item to ask, operational or pretest. A pretest item comes
    /// when the operational count reaches its slot, and the slots the exam
    /// never reached come after the last operational item (see
    /// [`crate::online::Pretest`]). Record with [`Session::record_next`] (or
    /// [`Session::record`] by id).
    pub fn next_any(&mut self) -> Option<NextItem> {
        if let Some(p) = self.pretest.as_ref().and_then(|p| p.pending) {
            return Some(NextItem::Pretest(p));
        }
        if let Some(j) = self.pending {
            return Some(NextItem::Operational(j));
        }
        let n = self.responses.len();
        if self.pretest.as_ref().is_some_and(|p| p.due(n, false)) {
            if let Some(p) = self.pick_pretest() {
                return Some(NextItem::Pretest(p));
            }
        }
        match self.next_index() {
            Some(j) => Some(NextItem::Operational(j)),
            None if self.pretest.as_ref().is_some_and(|p| p.due(n, true)) => {
                self.pick_pretest().map(NextItem::Pretest)
            }
            None => None,
        }
    }

    fn pick_pretest(&mut self) -> Option<usize> {
        let theta = if self.responses.is_empty() {
            self.plan().start.theta
        } else {
            self.ability.theta
        };
        let (select, window) = self.plan().pretest.as_ref().map(|p| (p.select, p.window))?;
        self.pretest.as_mut()?.pick(select, theta, window)
    }

    /// The id of `next`: a bank item or a pool item.
    pub fn item_id(&self, next: NextItem) -> &ItemId {
        match next {
            NextItem::Operational(j) => &self.design.bank().ids()[j],
            NextItem::Pretest(p) => &self.pretest_pool()[p],
        }
    }

    /// The plan's pretest pool (empty without pretest seeding).
    pub fn pretest_pool(&self) -> &[ItemId] {
        self.plan()
            .pretest
            .as_ref()
            .map_or(&[], |p| p.items.as_slice())
    }

    /// Pretest items asked, in order: `(pool index, score)`, the score
    /// `None` when skipped. They never enter the estimate.
    pub fn pretest_asked(&self) -> &[(usize, Option<usize>)] {
        self.pretest.as_ref().map_or(&[], |p| p.asked.as_slice())
    }

    /// Records the score of `next` (as [`Session::record_index`] or
    /// [`Session::record_pretest`]).
    ///
    /// # Errors
    /// As those.
    pub fn record_next(&mut self, next: NextItem, score: usize) -> Result<()> {
        match next {
            NextItem::Operational(j) => self.record_index(j, score),
            NextItem::Pretest(p) => self.record_pretest(p, score),
        }
    }

    /// Marks `next` asked without an answer (as [`Session::skip_index`] or
    /// [`Session::skip_pretest`]).
    ///
    /// # Errors
    /// As those.
    pub fn skip_next(&mut self, next: NextItem) -> Result<()> {
        match next {
            NextItem::Operational(j) => self.skip_index(j),
            NextItem::Pretest(p) => self.skip_pretest(p),
        }
    }

    /// Records the answer to pretest pool item `p`: kept apart, not scored,
    /// not counted toward the length or the stopping rules. Any score is
    /// accepted (the item's categories are not known yet).
    ///
    /// # Errors
    /// No such pool item, or one already asked ([`ErrorKind::Item`]).
    pub fn record_pretest(&mut self, p: usize, score: usize) -> Result<()> {
        self.take_pretest(p, Some(score))
    }

    /// Marks pretest pool item `p` asked without an answer (its slot is
    /// used).
    ///
    /// # Errors
    /// As [`Session::record_pretest`].
    pub fn skip_pretest(&mut self, p: usize) -> Result<()> {
        self.take_pretest(p, None)
    }

    fn take_pretest(&mut self, p: usize, score: Option<usize>) -> Result<()> {
        let id = self
            .pretest_pool()
            .get(p)
            .map_or_else(String::new, |id| id.as_str().to_owned());
        match self.pretest.as_mut() {
            Some(run) => run.take(p, score, &id),
            None => Err(Error::new(
                ErrorKind::Item,
                "the plan seeds no pretest items",
            )),
        }
    }

    /// As [`Session::next_item`], by bank index, operational items only
    /// (pretest slots are passed over; use [`Session::next_any`] for them).
    pub fn next_index(&mut self) -> Option<usize> {
        if self.pending.is_some() {
            return self.pending;
        }
        if self.stop.is_some() {
            return None;
        }
        let n = self.responses.len();
        if let Some(reason) = self.design.rules.check(n, &self.ability) {
            self.stop = Some(reason);
            return None;
        }
        if self.available.iter().all(|&c| c == 0) {
            self.bring_back_set_aside();
            if self.available.iter().all(|&c| c == 0) {
                self.stop = Some(StopReason::Exhausted);
                return None;
            }
        }
        let theta = if n == 0 {
            self.plan().start.theta
        } else {
            self.ability.theta
        };
        if let Some(min_info) = self.plan().stop_information {
            if n > 0 && n >= self.plan().min_items && self.best_information(theta) < min_info {
                self.stop = Some(StopReason::MinInformation);
                return None;
            }
        }
        let rule = if n < self.plan().start.random_items {
            SelectRule::Random
        } else {
            self.plan().select
        };
        if rule.needs_posterior() {
            self.posterior();
        }
        loop {
            let Some(pick) = self.select_one(rule, theta) else {
                self.bring_back_set_aside();
                if self.available.iter().all(|&c| c == 0) {
                    self.stop = Some(StopReason::Exhausted);
                    return None;
                }
                continue;
            };
            self.selections.push(pick);
            if let Exposure::SympsonHetter { .. } = self.plan().exposure {
                let k = self.design.bank().exposure_param(pick).unwrap_or(1.0);
                if k < 1.0 && self.rng.random::<f64>() >= k {
                    self.set_state(pick, ItemState::SetAside);
                    continue;
                }
            }
            self.pending = Some(pick);
            return Some(pick);
        }
    }

    /// Largest information at `theta` among available items.
    fn best_information(&self, theta: f64) -> f64 {
        let eligible = |j: usize| self.state[j] == ItemState::Available;
        let c = Candidates {
            bank: self.design.bank(),
            theta,
            a_range: None,
            eligible: &eligible,
        };
        select::max_info(&c, 1)
            .scored()
            .first()
            .map_or(f64::NEG_INFINITY, |s| s.0)
    }

    /// One pick of `rule` in the due content group and stratum, or `None`
    /// when no item is available.
    fn select_one(&mut self, rule: SelectRule, theta: f64) -> Option<usize> {
        let ns = self.design.n_strata();
        let group_has = |g: usize| self.available[g * ns..(g + 1) * ns].iter().any(|&c| c > 0);
        let g = due_group(&self.design.targets, &self.counts, group_has)?;
        let stage = (self.responses.len() * ns / self.plan().max_items).min(ns - 1);
        // The stage's stratum, else the nearest with items, higher first.
        let s = (stage..ns)
            .chain((0..stage).rev())
            .find(|&s| self.available[g * ns + s] > 0)?;
        let a_range = (ns > 1).then(|| self.design.strata[s]);
        let (design, state) = (&self.design, &self.state);
        let eligible = |j: usize| {
            state[j] == ItemState::Available
                && design.group[j] as usize == g
                && design.stratum[j] as usize == s
        };
        let c = Candidates {
            bank: design.bank(),
            theta,
            a_range,
            eligible: &eligible,
        };
        let k = self.design.plan().exposure.candidates();
        let post = self.posterior.get();
        let ranked = select::rank(
            rule,
            &c,
            k,
            self.design.plan().shortlist,
            post,
            &mut self.rng,
        );
        let pick = match ranked.len() {
            0 => return None,
            1 => ranked[0],
            len => ranked[self.rng.random_range(0..len)],
        };
        Some(match (rule, design.plan().ties) {
            // A random pick is already indifferent between twins.
            (SelectRule::Random, _) | (_, Ties::First) => pick,
            (_, Ties::Random) => design.bank().twins().draw(pick, self.seed, eligible),
        })
    }

    /// Returns set-aside and ineligible items to the pool (when nothing else
    /// is left, exposure control yields rather than ending the exam).
    fn bring_back_set_aside(&mut self) {
        for j in 0..self.state.len() {
            if matches!(self.state[j], ItemState::SetAside | ItemState::Ineligible) {
                self.set_state(j, ItemState::Available);
            }
        }
    }

    fn check_record(&self, id: &str, j: Option<usize>, score: usize) -> Result<usize> {
        let j = j.ok_or_else(|| Error::new(ErrorKind::Item, "not in the bank").for_item(id))?;
        let n_cat = self.design.bank().irfs()[j].n_categories();
        if score >= n_cat {
            return Err(Error::value(format!(
                "score {score} is outside the item's categories 0..={}",
                n_cat - 1
            ))
            .for_item(id));
        }
        match self.state[j] {
            ItemState::Administered | ItemState::Skipped => {
                Err(Error::new(ErrorKind::Item, "already administered in this exam").for_item(id))
            }
            ItemState::Excluded => Err(Error::new(
                ErrorKind::Item,
                "excluded from this exam (by the bank, the plan or an enemy set)",
            )
            .for_item(id)),
            _ => Ok(j),
        }
    }

    fn apply(&mut self, j: usize, score: usize) {
        self.set_state(j, ItemState::Administered);
        self.counts[self.design.group[j] as usize] += 1;
        self.responses.push((j, score));
        let design = Arc::clone(&self.design);
        self.running.add(&design.bank().irfs()[j], score);
        if let Some(enemies) = design.enemies.get(&j) {
            for &e in enemies {
                if !matches!(
                    self.state[e],
                    ItemState::Administered | ItemState::Skipped | ItemState::Excluded
                ) {
                    self.set_state(e, ItemState::Excluded);
                }
            }
        }
    }

    fn reestimate(&mut self) {
        self.pending = None;
        self.stop = None;
        self.posterior = OnceCell::new();
        let post = self
            .design
            .estimation
            .is_eap()
            .then(|| self.posterior().clone());
        let pattern = self.pattern();
        self.ability = self.design.estimation.estimate(&pattern, post.as_ref());
    }

    /// Records the answer `score` (a category index; 1 = correct for
    /// dichotomous items) to item `id` and re-estimates ability. Any item
    /// of the bank not yet administered may be recorded, not only the one
    /// [`Session::next_item`] offered. An item of the pretest pool is
    /// recorded as [`Session::record_pretest`] does.
    ///
    /// # Errors
    /// An unknown item, an item already administered or excluded
    /// ([`ErrorKind::Item`]); a score outside the item's categories
    /// ([`ErrorKind::Value`]). The session is unchanged.
    pub fn record(&mut self, id: &str, score: usize) -> Result<()> {
        if let Some(p) = self.pretest.as_ref().and_then(|p| p.index.get(id)) {
            return self.record_pretest(*p, score);
        }
        let j = self.check_record(id, self.design.bank().index_of(id), score)?;
        self.apply(j, score);
        self.reestimate();
        Ok(())
    }

    /// As [`Session::record`], by bank index.
    ///
    /// # Errors
    /// As [`Session::record`].
    pub fn record_index(&mut self, j: usize, score: usize) -> Result<()> {
        let id = self
            .design
            .bank()
            .ids()
            .get(j)
            .map_or("?", |id| id.as_str());
        let j = self.check_record(id, (j < self.state.len()).then_some(j), score)?;
        self.apply(j, score);
        self.reestimate();
        Ok(())
    }

    /// Records several answers at once and re-estimates once. All or
    /// nothing: if any answer is rejected, none is recorded.
    /// Operational items only: record pretest answers one at a time with
    /// [`Session::record_pretest`].
    ///
    /// # Errors
    /// As [`Session::record`], and an item named twice in `answers`.
    pub fn record_all(&mut self, answers: &[(&str, usize)]) -> Result<()> {
        let mut seen = std::collections::HashSet::new();
        let mut checked = Vec::with_capacity(answers.len());
        for &(id, score) in answers {
            let j = self.check_record(id, self.design.bank().index_of(id), score)?;
            if !seen.insert(j) {
                return Err(Error::new(ErrorKind::Item, "answered twice in one batch").for_item(id));
            }
            checked.push((j, score));
        }
        for (j, score) in checked {
            // An enemy of an earlier answer in the batch is now excluded.
            if self.state[j] == ItemState::Excluded {
                return Err(Error::new(
                    ErrorKind::Item,
                    "excluded from this exam (an enemy of another answer in the batch)",
                )
                .for_item(self.design.bank().ids()[j].as_str()));
            }
            self.apply(j, score);
        }
        self.reestimate();
        Ok(())
    }

    /// Marks item `j` as asked without an answer (a replayed examinee with
    /// no recorded response to it): it is not administered again, does not
    /// count toward the length, and the next call to
    /// [`Session::next_index`] picks the next best item.
    ///
    /// # Errors
    /// An index outside the bank or an item already administered or
    /// skipped ([`ErrorKind::Item`]).
    pub fn skip_index(&mut self, j: usize) -> Result<()> {
        let Some(&st) = self.state.get(j) else {
            return Err(Error::new(ErrorKind::Item, format!("no item at index {j}")));
        };
        if matches!(st, ItemState::Administered | ItemState::Skipped) {
            return Err(
                Error::new(ErrorKind::Item, "already administered in this exam")
                    .for_item(self.design.bank().ids()[j].as_str()),
            );
        }
        self.set_state(j, ItemState::Skipped);
        self.skipped.push(j);
        if self.pending == Some(j) {
            self.pending = None;
        }
        Ok(())
    }

    // Pieces the saved state is rebuilt from.
    pub(crate) fn rng_words(&self) -> u64 {
        self.rng.get_word_pos() as u64
    }

    pub(crate) fn pending(&self) -> Option<usize> {
        self.pending
    }

    pub(crate) fn pretest_rng_words(&self) -> u64 {
        self.pretest
            .as_ref()
            .map_or(0, |p| p.rng.get_word_pos() as u64)
    }

    pub(crate) fn pretest_pending(&self) -> Option<usize> {
        self.pretest.as_ref().and_then(|p| p.pending)
    }

    pub(crate) fn items_in(&self, st: ItemState) -> Vec<usize> {
        (0..self.state.len())
            .filter(|&j| self.state[j] == st)
            .collect()
    }

    /// Rebuilds a session: replays answers and skips, restores the
    /// exposure-control states, the random stream position, the pending
    /// item and the stop reason.
    pub(crate) fn rebuild(design: Arc<Design>, seed: u64, parts: Rebuild) -> Result<Self> {
        let mut s = Session::start(design, seed);
        for j in 0..s.state.len() {
            if s.state[j] == ItemState::Ineligible {
                s.set_state(j, ItemState::Available);
            }
        }
        let ids = s.design.bank().ids().to_vec();
        for (j, score) in parts.responses {
            let j = s.check_record(ids[j].as_str(), Some(j), score)?;
            s.apply(j, score);
        }
        for j in parts.skipped {
            s.skip_index(j)?;
        }
        for (list, st) in [
            (parts.set_aside, ItemState::SetAside),
            (parts.ineligible, ItemState::Ineligible),
        ] {
            for j in list {
                if s.state[j] == ItemState::Available {
                    s.set_state(j, st);
                }
            }
        }
        for (p, score) in parts.pretest {
            s.take_pretest(p, score)?;
        }
        s.reestimate();
        s.rng.set_word_pos(parts.rng_words as u128);
        s.pending = parts.pending;
        s.stop = parts.stop;
        if let Some(run) = s.pretest.as_mut() {
            run.rng.set_word_pos(parts.pretest_rng_words as u128);
            run.pending = parts.pretest_pending;
        }
        Ok(s)
    }
}

/// The mutable parts of a session, by bank index.
pub(crate) struct Rebuild {
    pub(crate) responses: Vec<(usize, usize)>,
    pub(crate) skipped: Vec<usize>,
    pub(crate) set_aside: Vec<usize>,
    pub(crate) ineligible: Vec<usize>,
    pub(crate) rng_words: u64,
    pub(crate) pending: Option<usize>,
    pub(crate) stop: Option<StopReason>,
    /// Pretest `(pool index, score)` in order.
    pub(crate) pretest: Vec<(usize, Option<usize>)>,
    pub(crate) pretest_pending: Option<usize>,
    pub(crate) pretest_rng_words: u64,
}
