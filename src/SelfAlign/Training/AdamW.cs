using SelfAlign.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfAlign.Training;

/// <summary>AdamW hyper-parameters (PyTorch's defaults).</summary>
public sealed record AdamWOptions(double Beta1 = 0.9, double Beta2 = 0.999, double Epsilon = 1e-8, double WeightDecay = 0.0);

/// <summary>
/// Decoupled-weight-decay Adam with float32 moments, the update of <c>torch.optim.AdamW</c>:
/// p ← p(1 − lr·wd), then p ← p − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε). Its state is plain
/// named tensors, so a checkpoint restores it exactly.
/// </summary>
public sealed class AdamW : IDisposable
{
    readonly IReadOnlyList<(string Name, Tensor Parameter)> _parameters;
    readonly AdamWOptions _options;
    readonly Dictionary<string, (Tensor M, Tensor V)> _moments = [];

    /// <summary>An optimizer over float32 parameters (leaf tensors that require grad).</summary>
    public AdamW(IReadOnlyList<(string Name, Tensor Parameter)> parameters, AdamWOptions? options = null)
    {
        _parameters = parameters;
        _options = options ?? new AdamWOptions();
        foreach (var (name, p) in parameters)
        {
            if (p.dtype != ScalarType.Float32) throw new ArgumentException($"'{name}' is {p.dtype}; trained weights must be float32");
            _moments[name] = (torch.zeros_like(p).DetachFromDisposeScope(), torch.zeros_like(p).DetachFromDisposeScope());
        }
    }

    /// <summary>Updates taken so far.</summary>
    public long Steps { get; private set; }

    /// <summary>One update with learning rate <paramref name="lr"/> from the parameters' current gradients.</summary>
    public void Step(double lr)
    {
        using var noGrad = torch.no_grad();
        Steps++;
        double c1 = 1 - Math.Pow(_options.Beta1, Steps), c2 = Math.Sqrt(1 - Math.Pow(_options.Beta2, Steps));
        // These change every step, so they live for this call only (see Scalars).
        using Scalar decay = (1 - lr * _options.WeightDecay).ToScalar(), correction2 = c2.ToScalar(), stepSize = (-lr / c1).ToScalar();
        foreach (var (name, p) in _parameters)
        {
            if (p.grad is not Tensor g) continue;
            using var scope = torch.NewDisposeScope();
            var (m, v) = _moments[name];
            if (_options.WeightDecay != 0) p.mul_(decay);
            m.mul_(Scalars.Of(_options.Beta1)).add_(g, alpha: Scalars.Of(1 - _options.Beta1));
            v.mul_(Scalars.Of(_options.Beta2)).addcmul_(g, g, value: Scalars.Of(1 - _options.Beta2));
            var denominator = v.sqrt().div_(correction2).add_(Scalars.Of(_options.Epsilon), Scalars.One);
            p.addcdiv_(m, denominator, value: stepSize);
        }
    }

    /// <summary>The moments under <c>exp_avg.&lt;name&gt;</c> and <c>exp_avg_sq.&lt;name&gt;</c>.</summary>
    public IEnumerable<(string Name, Tensor Tensor)> State() =>
        _moments.SelectMany(kv => new[] { ($"exp_avg.{kv.Key}", kv.Value.M), ($"exp_avg_sq.{kv.Key}", kv.Value.V) });

    /// <summary>Restores moments and step count saved by <see cref="State"/>.</summary>
    public void Load(Func<string, Tensor> read, long steps)
    {
        using var noGrad = torch.no_grad();
        foreach (var (name, (m, v)) in _moments)
        {
            using var savedM = read($"exp_avg.{name}");
            using var savedV = read($"exp_avg_sq.{name}");
            m.copy_(savedM);
            v.copy_(savedV);
        }
        Steps = steps;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var (m, v) in _moments.Values)
        {
            m.Dispose();
            v.Dispose();
        }
    }
}
