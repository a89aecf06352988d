namespace SelfAlign.Evaluation;

/// <summary>
/// AlpacaEval 2's length-controlled win rate, from one head to head alone: a logistic model of
/// the judge's preference for A, <c>σ(θ + φ·tanh(Δ / sd(Δ)))</c> with Δ the length difference of
/// the two answers (characters), is fitted to the preferences by maximum likelihood (soft
/// labels), and the win rate predicted with no length difference is <c>σ(θ)</c>. AlpacaEval also
/// fits an instruction-difficulty term and regularizes toward models that gamed the length;
/// both need its precomputed data over many models, so they are left out here.
/// </summary>
public static class LengthControlledWinRate
{
    /// <summary>The fitted intercept θ, length weight φ and <c>σ(θ)</c>, from each comparison's preference for A (in [0, 1]) and the two answers' lengths.</summary>
    public static (double Theta, double Phi, double WinRate) Fit(IReadOnlyList<(double Preference, int LengthA, int LengthB)> comparisons)
    {
        int n = comparisons.Count;
        if (n == 0) return (0, 0, double.NaN);
        double mean = comparisons.Average(c => c.Preference);
        if (mean is <= 0 or >= 1) return (double.NaN, double.NaN, mean); // the likelihood has no finite maximum: every preference is 0, or every one is 1
        var delta = comparisons.Select(c => (double)(c.LengthA - c.LengthB)).ToArray();
        double deltaMean = delta.Average();
        double sd = n < 2 ? 0 : Math.Sqrt(delta.Sum(d => (d - deltaMean) * (d - deltaMean)) / (n - 1));
        var x = delta.Select(d => sd > 0 ? Math.Tanh(d / sd) : 0).ToArray();
        double theta = Math.Log(mean / (1 - mean)), phi = 0;
        // Newton's method on the concave log-likelihood; with a constant feature only θ moves.
        for (int iteration = 0; iteration < 100; iteration++)
        {
            double g0 = 0, g1 = 0, h00 = 0, h01 = 0, h11 = 0;
            for (int i = 0; i < n; i++)
            {
                double s = Sigmoid(theta + phi * x[i]), r = comparisons[i].Preference - s, w = s * (1 - s);
                g0 += r;
                g1 += r * x[i];
                h00 += w;
                h01 += w * x[i];
                h11 += w * x[i] * x[i];
            }
            double det = h00 * h11 - h01 * h01;
            double step0, step1;
            if (det > 1e-12 * Math.Max(1, h00 * h11)) (step0, step1) = ((h11 * g0 - h01 * g1) / det, (h00 * g1 - h01 * g0) / det);
            else (step0, step1) = (g0 / h00, 0);
            theta += step0;
            phi += step1;
            if (Math.Abs(step0) + Math.Abs(step1) < 1e-12) break;
        }
        return (theta, phi, Sigmoid(theta));
    }

    /// <summary>
    /// AlpacaEval's warning sign that the fit failed: the length-controlled rate moved from the raw
    /// one (both in [0, 1]) by more than 10 points or a quarter of the way to 0 or 1 (whichever is
    /// larger), as when every length difference has the same sign and the fit extrapolates to zero.
    /// </summary>
    public static bool IsExtremeChange(double raw, double controlled)
    {
        double before = 100 * raw, after = 100 * controlled;
        return after < Math.Min(before - before / 4, before - 10) || after > Math.Max(before + (100 - before) / 4, before + 10);
    }

    static double Sigmoid(double z) => z >= 0 ? 1 / (1 + Math.Exp(-z)) : Math.Exp(z) / (1 + Math.Exp(z));
}
