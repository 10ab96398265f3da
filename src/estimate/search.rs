//! One-dimensional search: a coarse grid to find the right region (the 3PL
//! and 4PL likelihoods can have several local maxima, where Newton started
//! at 0 wanders), then a safeguarded solver inside one grid cell.

use super::pattern::LogPost;

/// Largest spacing of the coarse grid, in logits: a single item's
/// log-likelihood changes on a scale of `1 / a`, so 0.2 resolves every
/// local maximum of practical banks.
pub(crate) const COARSE_STEP: f64 = 0.2;

/// Function values on equally spaced nodes `lo + i * step`.
#[derive(Debug, Clone)]
pub(crate) struct Grid {
    pub(crate) lo: f64,
    pub(crate) step: f64,
    pub(crate) values: Vec<f64>,
}

impl Grid {
    /// Evaluates `f` on `n >= 2` nodes from `lo` to `hi`.
    pub(crate) fn scan(lo: f64, hi: f64, n: usize, f: impl Fn(f64) -> f64) -> Self {
        let n = n.max(2);
        let step = (hi - lo) / (n - 1) as f64;
        let mut values = Vec::with_capacity(n);
        // The last node is `hi` itself, not `lo + (n-1) step` with rounding.
        values.extend((0..n - 1).map(|i| f(lo + i as f64 * step)));
        values.push(f(hi));
        Grid { lo, step, values }
    }

    /// Number of nodes that cover `[lo, hi]` with spacing at most `step`.
    pub(crate) fn nodes_for(lo: f64, hi: f64, step: f64) -> usize {
        ((hi - lo) / step).ceil() as usize + 1
    }

    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    pub(crate) fn node(&self, i: usize) -> f64 {
        if i + 1 == self.len() {
            self.hi()
        } else {
            self.lo + i as f64 * self.step
        }
    }

    pub(crate) fn hi(&self) -> f64 {
        self.lo + (self.len() - 1) as f64 * self.step
    }

    /// Index of the largest value (NaN never wins).
    pub(crate) fn argmax(&self) -> usize {
        let mut best = 0;
        for (i, &v) in self.values.iter().enumerate() {
            if v > self.values[best] || self.values[best].is_nan() {
                best = i;
            }
        }
        best
    }
}

/// Where a maximum was found.
#[derive(Debug, Clone)]
pub(crate) struct Maximum {
    pub(crate) theta: f64,
    /// The maximum is on the search interval's end, with the function still
    /// rising outward.
    pub(crate) at_edge: bool,
    /// The last coarse grid evaluated (None when the objective is concave
    /// and no grid was needed).
    pub(crate) grid: Option<Grid>,
}

/// Windows a sliding search may move through before it settles for an edge.
const MAX_SLIDES: usize = 16;

/// Maximises `obj` over `[lo, hi]`. With `slide`, a maximum on an end of the
/// window moves the window outward (up to 16 times): the log posterior with a
/// normal prior always has an interior maximum, possibly far out.
///
/// A concave objective (see [`LogPost::log_concave`]) is solved by bracketed
/// Newton directly; otherwise a coarse grid first picks the cell, which finds
/// the global maximum among local ones at least a grid cell apart (the
/// 3PL/4PL likelihood, a Student-t prior's convex tails).
pub(crate) fn maximize(obj: &LogPost<'_>, lo: f64, hi: f64, slide: bool) -> Maximum {
    if obj.log_concave() {
        return maximize_concave(obj, lo, hi, slide);
    }
    let n = Grid::nodes_for(lo, hi, COARSE_STEP).clamp(21, 601);
    let (mut lo, mut hi) = (lo, hi);
    let mut grid = Grid::scan(lo, hi, n, |t| obj.value(t));
    for _ in 0..MAX_SLIDES {
        if !slide {
            break;
        }
        let i = grid.argmax();
        let width = hi - lo;
        if i + 1 == grid.len() && obj.grad(hi) > 0.0 {
            lo = hi - grid.step;
            hi = lo + width;
        } else if i == 0 && obj.grad(lo) < 0.0 {
            hi = lo + grid.step;
            lo = hi - width;
        } else {
            break;
        }
        grid = Grid::scan(lo, hi, n, |t| obj.value(t));
    }
    let (theta, at_edge) = refine(obj, &grid);
    Maximum {
        theta,
        at_edge,
        grid: Some(grid),
    }
}

/// A concave objective: the signs of the gradient at the ends say whether
/// the maximum is inside, and Newton in the bracket finds it.
fn maximize_concave(obj: &LogPost<'_>, mut lo: f64, mut hi: f64, slide: bool) -> Maximum {
    let edge = |theta| Maximum {
        theta,
        at_edge: true,
        grid: None,
    };
    for attempt in 0..=MAX_SLIDES {
        let can_slide = slide && attempt < MAX_SLIDES;
        let width = hi - lo;
        if obj.grad(lo) <= 0.0 {
            if !can_slide {
                return edge(lo);
            }
            (lo, hi) = (lo - width, lo);
        } else if obj.grad(hi) >= 0.0 {
            if !can_slide {
                return edge(hi);
            }
            (lo, hi) = (hi, hi + width);
        } else {
            let start = obj.prior.map_or(0.0, |p| p.location()).clamp(lo, hi);
            return Maximum {
                theta: newton_max(obj, lo, hi, start),
                at_edge: false,
                grid: None,
            };
        }
    }
    edge(hi)
}

/// Refines the best grid node to the maximum within its neighbouring cells.
fn refine(obj: &LogPost<'_>, grid: &Grid) -> (f64, bool) {
    let n = grid.len();
    let i = grid.argmax();
    let x = grid.node(i);
    if i == 0 && obj.grad(x) <= 0.0 {
        return (x, true);
    }
    if i + 1 == n && obj.grad(x) >= 0.0 {
        return (x, true);
    }
    let a = grid.node(i.saturating_sub(1));
    let b = grid.node((i + 1).min(n - 1));
    let (ga, gb) = (obj.grad(a), obj.grad(b));
    let theta = if ga > 0.0 && gb < 0.0 {
        newton_max(obj, a, b, x)
    } else {
        golden_max(|t| obj.value(t), a, b)
    };
    let lo = grid.lo;
    let hi = grid.hi();
    let tol = 1e-9 * (1.0 + theta.abs());
    if theta - lo <= tol {
        (lo, obj.grad(lo) <= 0.0)
    } else if hi - theta <= tol {
        (hi, obj.grad(hi) >= 0.0)
    } else {
        (theta, false)
    }
}

/// Newton's method on the gradient, kept inside a bracket `[a, b]` with
/// `g(a) > 0 > g(b)`: a step that leaves the bracket, or a non-concave point,
/// is replaced by bisection, so it always converges.
fn newton_max(obj: &LogPost<'_>, mut a: f64, mut b: f64, x0: f64) -> f64 {
    let mut x = x0.clamp(a, b);
    for _ in 0..200 {
        let (g, h) = obj.grad_hess(x);
        if g == 0.0 || !g.is_finite() {
            return x;
        }
        if g > 0.0 {
            a = x;
        } else {
            b = x;
        }
        let newton = x - g / h;
        let next = if h < 0.0 && newton > a && newton < b {
            newton
        } else {
            0.5 * (a + b)
        };
        let tol = 1e-13 * (1.0 + x.abs());
        if (next - x).abs() <= tol || b - a <= tol {
            return next;
        }
        x = next;
    }
    x
}

/// Golden-section search for a maximum of `f` on `[a, b]` (the fallback when
/// the gradient does not bracket a maximum in the best cell).
fn golden_max(f: impl Fn(f64) -> f64, mut a: f64, mut b: f64) -> f64 {
    let r = 0.5 * (5f64.sqrt() - 1.0);
    let mut c = b - r * (b - a);
    let mut d = a + r * (b - a);
    let (mut fc, mut fd) = (f(c), f(d));
    for _ in 0..200 {
        if b - a <= 1e-12 * (1.0 + a.abs()) {
            break;
        }
        if fc >= fd {
            b = d;
            d = c;
            fd = fc;
            c = b - r * (b - a);
            fc = f(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + r * (b - a);
            fd = f(d);
        }
    }
    // The ends were never evaluated: a maximum on an end shows up here.
    let mid = 0.5 * (a + b);
    [a, mid, b]
        .into_iter()
        .max_by(|x, y| f(*x).total_cmp(&f(*y)))
        .unwrap_or(mid)
}

/// A root of `f` in `[a, b]` where `f(a) > 0 >= f(b)`, by the Illinois
/// variant of regula falsi (superlinear, and never leaves the bracket).
pub(crate) fn root_down(f: impl Fn(f64) -> f64, mut a: f64, mut b: f64) -> f64 {
    let (mut fa, mut fb) = (f(a), f(b));
    if fb == 0.0 {
        return b;
    }
    let mut side = 0i8;
    for _ in 0..200 {
        let mut c = (a * fb - b * fa) / (fb - fa);
        if !(c > a && c < b) {
            c = 0.5 * (a + b);
        }
        let fc = f(c);
        if fc == 0.0 || !fc.is_finite() || b - a <= 1e-13 * (1.0 + c.abs()) {
            return c;
        }
        if fc > 0.0 {
            a = c;
            fa = fc;
            if side == 1 {
                fb *= 0.5;
            }
            side = 1;
        } else {
            b = c;
            fb = fc;
            if side == -1 {
                fa *= 0.5;
            }
            side = -1;
        }
    }
    0.5 * (a + b)
}
