"""The readings of the Learn page: one short text per topic, as data.

Each :class:`Lesson` is a short text for students (80-200 words, Markdown with LaTeX in
``$...$``), optionally linked to a classroom preset (``rnnviz.config.PRESETS``) that shows
the effect live, and to a small live widget (``rnnviz.lessons.widgets.WIDGETS``). The guided
lessons (``rnnviz.lessons.guided``) show these texts as their "read more".
"""

from __future__ import annotations

from dataclasses import dataclass

from rnnviz.errors import RnnvizError


@dataclass(frozen=True)
class Lesson:
    """One card of the Learn page.

    key: stable id (URL anchor); title: the question it answers; body_markdown: the text;
    preset: a key of ``rnnviz.config.PRESETS`` to try it live, or None; widget: a key of WIDGETS, or None.
    """

    key: str
    title: str
    body_markdown: str
    preset: str | None = None
    widget: str | None = None


LESSONS: list[Lesson] = [
    Lesson(
        "rnn-vs-feedforward",
        "How is an RNN different from a feed-forward network?",
        r"""A feed-forward network (an MLP) maps one fixed-size input to one output. It has no
memory: show it the same input twice and it answers the same way, and it cannot take a
sequence of any length.

A **recurrent neural network** reads a sequence one element at a time and keeps a
**hidden state** $h_t$ that it updates at every step with the *same* weights:

$$
h_t = \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})
$$

Because the weights are shared across time, the number of parameters does not grow with
the length of the sequence, and the order of the inputs matters. If you "unroll" the loop
over $T$ steps you get a very deep feed-forward network whose $T$ layers all share one
weight matrix. That depth is what makes RNNs powerful and what makes them hard to train,
as the next lessons show.""",
    ),
    Lesson(
        "hidden-state",
        "Time steps and the hidden state",
        r"""Each position $t = 1, \dots, T$ of a sequence is a **time step**: a character, a
word, a sensor reading. At step $t$ the cell combines the new input $x_t$ with the
previous hidden state $h_{t-1}$ (it starts from $h_0 = 0$) and produces $h_t$, a vector of
$H$ numbers.

Think of $h_t$ as the network's notes about everything it has read so far. It is all the
network can remember: anything not written into those $H$ numbers is lost. The output at
step $t$, for example the prediction of the next character, is read from $h_t$ by a
small linear layer.

In the **hidden-state heatmap** each row is one unit of $h_t$ and each column a time step;
the input sequence is drawn above it. Watch which units switch on when an important input
arrives and whether they *hold* that value until the end of the sequence.""",
    ),
    Lesson(
        "padding-masking",
        "Sequences of different lengths: padding and masking",
        r"""Real sequences have different lengths, but a batch is one rectangular tensor of
shape $(N, L, I)$. So shorter sequences are **padded**: filled up with dummy values to the
length $L$ of the longest one.

The padding must not count. A boolean **mask** $m_{n,t}$ (1 for a real step, 0 for
padding) removes it from the loss:

$$
\mathcal{L} = \frac{\sum_{n,t} m_{n,t}\,\ell_{n,t}}{\sum_{n,t} m_{n,t}}
$$

so padded steps give no loss and no gradient. The same mask is used for the accuracy.
Careful with the final state: after padding at the end, $h_L$ has also read the
dummy values, so take the hidden state at each sequence's *last real step* instead (in
PyTorch, `pack_padded_sequence` does this for you). Sorting sequences by length
into buckets keeps the padding, and the wasted computation, small.""",
    ),
    Lesson(
        "bptt",
        "Backpropagation through time (BPTT)",
        r"""To train an RNN we unroll it over the $T$ steps and run ordinary backpropagation
through the unrolled graph: **backpropagation through time**. The gradient with respect
to a hidden state collects everything that happens later:

$$
\frac{\partial \mathcal{L}}{\partial h_t} = \frac{\partial \ell_t}{\partial h_t}
+ \Big(\frac{\partial h_{t+1}}{\partial h_t}\Big)^{\!\top} \frac{\partial \mathcal{L}}{\partial h_{t+1}}
$$

The first term is the loss at step $t$ itself (if there is one); the second carries the
gradient from the future one step back. Because the weights are shared, their gradient is
a **sum over all time steps**, e.g. $\frac{\partial \mathcal{L}}{\partial W_{hh}} = \sum_t
\delta_t\, h_{t-1}^\top$ with $\delta_t$ the gradient at the pre-activation of step $t$.

BPTT must store every $h_t$, so memory grows with $T$. *Truncated* BPTT backpropagates only
the last $k$ steps. The **gradient-flow plot** shows $\|\partial \mathcal{L}/\partial h_t\|$
for every $t$: how much learning signal reaches each step.""",
    ),
    Lesson(
        "vanishing",
        "Why gradients vanish",
        r"""Carrying the gradient from step $T$ back to step $t$ multiplies it by one
**Jacobian** per step:

$$
\frac{\partial h_T}{\partial h_t} = \prod_{k=t+1}^{T} \operatorname{diag}\big(\phi'(a_k)\big)\, W_{hh}
$$

Each factor has norm at most $\gamma\,\sigma_{\max}$, where $\sigma_{\max}$ is the largest
singular value of $W_{hh}$ and $\gamma$ the largest slope of the nonlinearity ($1$ for
tanh). So (Pascanu, Mikolov & Bengio, 2013)

$$
\Big\|\frac{\partial h_T}{\partial h_t}\Big\| \le (\gamma\,\sigma_{\max})^{T-t}.
$$

If $\gamma\,\sigma_{\max} < 1$ every step shrinks the gradient and it **vanishes**
geometrically, for sure: with $\sigma_{\max} = 0.9$, after 100 steps at most
$0.9^{100} \approx 2.7\cdot10^{-5}$ of it is left. The **spectral radius** $\rho$ (the largest
$|\lambda|$ of $W_{hh}$, never above $\sigma_{\max}$) bounds no single step: it is the *long-run*
rate per step ($\|W^n\|^{1/n} \to \rho$, Gelfand's formula). A random $W_{hh}$ scaled to
$\rho = 0.9$ has $\sigma_{\max} \approx 1.6$ to $1.8$ ($H = 128$), so the bound says nothing there,
yet the gradient still vanishes in the long run: at $T = 100$ the measured
$\|\partial\mathcal{L}/\partial h_1\| / \|\partial\mathcal{L}/\partial h_T\|$ is $2\cdot10^{-7}$ to
$7\cdot10^{-6}$ (seeds 0-4): the network cannot learn that an early input matters. On the
log-scale gradient-flow plot vanishing is a straight falling line. Try the sliders.""",
        preset="vanishing-tanh",
        widget="jacobian_product",
    ),
    Lesson(
        "exploding",
        "Why gradients explode, and what the nonlinearity has to do with it",
        r"""The same product of Jacobians can also **grow**. If the spectral radius $\rho$ of
$W_{hh}$ is above 1 and the units are not saturated, the product grows in the long run, by
about $\rho$ per step: with a random $W_{hh}$ at $\rho = 3$ ($H = 128$, a tanh RNN) the
gradient at step 1 is measured at $5\cdot10^{12}$ to $4\cdot10^{14}$ times the one at step 100
(seeds 0-4). A single update of that size throws the weights away, and the loss jumps
or becomes `NaN`.

The threshold depends on the slope of the nonlinearity, $\gamma = \max|\phi'|$: $1$ for
tanh and relu, but $1/4$ for the sigmoid, so a sigmoid network needs $\sigma_{\max} > 4$
before it can explode. Being above $1/\gamma$ is **necessary but not sufficient**:
saturated units have $\phi' \approx 0$ and shrink the gradient again. That is why the
bound of the previous lesson is an upper bound, not a prediction. Look at the slopes in
the widget, then watch the gradient-norm plot of the preset.""",
        preset="exploding",
        widget="sigmoid_tanh",
    ),
    Lesson(
        "clipping",
        "Gradient clipping",
        r"""The simplest cure for exploding gradients is to **clip** the gradient's norm before
each update. With all parameter gradients stacked into one vector $g$ and a threshold
$\theta$:

$$
\text{if } \|g\| > \theta:\qquad g \leftarrow \theta\,\frac{g}{\|g\|}
$$

The direction stays the same; only the step length is capped, so one freak batch can no
longer wreck the weights. Pick $\theta$ near the gradient norm of an ordinary step, so
that only the freak ones are cut; the presets here clip at 1. In PyTorch this is
`torch.nn.utils.clip_grad_norm_`.

Clipping does **not** help with vanishing gradients: it can only make a gradient shorter.
In the gradient-norm plot, clipped steps are marked, and the "after clipping" curve never
goes above $\theta$.""",
        preset="clipping-tames",
        widget="clipping",
    ),
    Lesson(
        "lstm",
        "The LSTM cell and its gates",
        r"""The **LSTM** (Hochreiter & Schmidhuber, 1997) adds a second state, the **cell
state** $c_t$, and three sigmoid **gates** with values between 0 and 1 (PyTorch order
i, f, g, o):

- input gate $i_t$: how much new information to write;
- **forget gate** $f_t$: how much of the old cell state to keep;
- output gate $o_t$: how much of the cell to show as $h_t$;
- candidate $g_t = \tanh(\dots)$: what to write.

$$
c_t = f_t \odot c_{t-1} + i_t \odot g_t, \qquad h_t = o_t \odot \tanh(c_t)
$$

The cell state is updated by *addition*, not by a matrix multiplication. Along it, the
Jacobian is simply $\partial c_t / \partial c_{t-1} = \operatorname{diag}(f_t)$ (plus
indirect paths): with forget gates near 1 the gradient flows back almost unchanged. The
forget gate lives in the LSTM; the GRU has no separate one. Compare $\|\partial
\mathcal{L}/\partial c_t\|$ with $\|\partial \mathcal{L}/\partial h_t\|$ in the cell-vs-hidden plot.""",
        preset="lstm-remembers",
    ),
    Lesson(
        "forget-bias",
        "The forget-gate bias",
        r"""An LSTM only remembers if its forget gates are open. With PyTorch's default
initialisation the gates start near $f \approx 0.5$, and $0.5^{100} \approx 8\cdot10^{-31}$: even
an LSTM forgets over 100 steps at first, and must *learn* to open its gates.

A larger **forget-gate bias** $b_f$ opens them from the start, since $f = \sigma(\dots + b_f)$:

- $b_f = 1$ gives a mean forget gate of about $0.73$;
- **chrono initialisation** (Tallec & Ollivier, 2018) draws $b_f = \log u$ with
  $u \sim U(1, T_{\max} - 1)$ and sets $b_i = -b_f$, giving a mean $f \approx 0.96$ at
  $T_{\max} = 100$ and a much slower decay.

In `nn.LSTM` the gate sees the sum $b_{ih} + b_{hh}$, so set the bias in one of the two only.
Run the preset and watch the saturation plot: the share of forget gates above 0.9.""",
        preset="forget-bias",
    ),
    Lesson(
        "gru",
        "The GRU: update and reset gates",
        r"""The **GRU** (Cho et al., 2014) is a lighter gated cell with no separate cell state
and two gates: a **reset gate** $r_t$ and an **update gate** $z_t$. In PyTorch's convention

$$
\begin{aligned}
n_t &= \tanh\big(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})\big) \\
h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}
\end{aligned}
$$

The reset gate decides how much of the past enters the candidate $n_t$. The update gate
blends old and new: with $z_t \approx 1$ the state is copied forward unchanged, so the
gradient also passes back unchanged, the same trick as the LSTM's forget gate. (Some
papers swap the roles of $z$ and $1 - z$; the app follows PyTorch.) The GRU has three
weight blocks per matrix instead of the LSTM's four, and on many tasks it does about as
well.""",
        preset="gru-remembers",
    ),
    Lesson(
        "irnn",
        "A plain RNN that remembers: identity initialisation",
        r"""Gates are not the only way to keep gradients alive. The **IRNN** (Le, Jaitly &
Hinton, 2015) is a plain relu RNN whose recurrent matrix starts as the identity,
$W_{hh} = I$, with zero bias. Then $h_t = \mathrm{relu}(h_{t-1} + W_{ih} x_t)$: the state is
copied forward, every eigenvalue of $W_{hh}$ sits exactly on the unit circle, and active
relu units have slope exactly 1, so at the start the gradient neither vanishes nor explodes.

Look at the eigenvalue plot while it trains: the eigenvalues start on the circle and the
interesting question is where learning moves them. The price is fragility: relu states are
unbounded, so the IRNN usually needs a small learning rate and gradient clipping.""",
        preset="irnn",
    ),
    Lesson(
        "bidirectional",
        "Bidirectional RNNs",
        r"""A normal RNN at step $t$ has only seen the past $x_1, \dots, x_t$. Often the future
helps too: the meaning of a word depends on the words after it. A **bidirectional RNN**
runs two independent RNNs, one forwards from $t=1$ and one backwards from $t=T$, and
concatenates their states:

$$
h_t = [\overrightarrow{h}_t \,;\, \overleftarrow{h}_t] \in \mathbb{R}^{2H}
$$

so every output sees the whole sequence. In PyTorch (`bidirectional=True`) the output has
shape $(N, L, 2H)$ and the backward direction is indexed by input position, as in this app's
plots, where its gradient curve is dashed: it flows the other way in time.

The catch: you need the whole sequence before producing any output. That is fine for
classifying or tagging a finished sentence, but impossible for real-time forecasting or for
generating text one token at a time.""",
    ),
    Lesson(
        "applications",
        "What are RNNs used for?",
        r"""RNNs fit any problem where data arrives as an ordered sequence.

- **Language modelling**: read text one character (or word) at a time and predict the next
  one, $p(x_{t+1} \mid x_1, \dots, x_t)$. Sampling from the prediction and feeding it back
  generates new text. The app's character task does exactly this.
- **Time-series forecasting**: sensor readings, energy demand, prices. The RNN reads the
  history and predicts the next values; try the sine task or upload your own CSV series.
- **Sequence classification**: sentiment of a review, the type of a heartbeat, or the
  temporal-order task in this app, where the answer depends on two symbols far apart.
- **Sequence to sequence**: speech recognition and machine translation were dominated by
  LSTM encoder-decoders until about 2017.

The synthetic tasks here (adding, copy memory, temporal order) are tests of memory: they
measure how far back in time a cell can carry information.""",
    ),
    Lesson(
        "limitations",
        "Limitations of RNNs, and attention",
        r"""**Sequential computation.** $h_t$ needs $h_{t-1}$, so the $T$ steps of one sequence
cannot run in parallel during training: long sequences are slow on GPUs.

**Limited memory.** Everything the network knows about the past must fit into $H$
numbers, and the gradient between two steps $T - t$ apart travels through $T - t$
Jacobians. Gates make this path far better, but memory over thousands of steps stays hard.

**Attention**, the core of Transformers, connects every position to every other one
directly: the path between any two steps has length 1 and all positions are computed in
parallel. The price is $O(T^2)$ time and memory in the sequence length, while an RNN needs
$O(T)$ and only $O(1)$ memory per generated token at inference. That trade-off is why
recurrent ideas are returning in linear RNNs and state-space models.""",
    ),
    Lesson(
        "evaluation",
        "How do we evaluate a sequence model?",
        r"""- **Loss** on held-out data, always next to a **baseline**: the best a model can do
  *without* memory. For the adding problem, always answering 1 gives a mean squared error
  of $1/6$; a model stuck on that dashed line has learned nothing from the sequence.
- **Accuracy** for classification tasks, counted only on real (unmasked) steps; compare
  with chance, e.g. 25% for 4 classes.
- **Perplexity** for language models: $\mathrm{PPL} = \exp\big(\frac{1}{T}\sum_t -\ln
  p(x_t \mid x_{<t})\big)$. A perplexity of 8 means the model is as unsure as a fair choice
  among 8 symbols; lower is better.
- **Error vs lag**: repeat a memory task with growing distance $T$ between the cue and the
  answer, and plot the error against $T$. The lag where the error climbs back to the
  baseline is how far the cell can remember.

For fair comparisons use the same task, seed and batches, as the Compare page does.""",
    ),
]


def lesson_by_key(key: str) -> Lesson:
    """The lesson with this key; RnnvizError listing the keys otherwise."""
    for lesson in LESSONS:
        if lesson.key == key:
            return lesson
    raise RnnvizError(f"lesson must be one of {[lesson.key for lesson in LESSONS]}, got {key!r}")
