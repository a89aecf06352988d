namespace SelfAlign.Evaluation;

/// <summary>Confidence intervals for rates measured on a sample (accuracy, success, agreement).</summary>
public static class Proportion
{
    /// <summary>The z of a two-sided 95% interval.</summary>
    public const double Z95 = 1.959963984540054;

    /// <summary>
    /// The Wilson score interval of a rate <paramref name="rate"/> observed on <paramref name="n"/>
    /// trials (a tie counted as half a success is allowed: the rate need not be k/n). Unlike the
    /// normal approximation it stays inside [0, 1] and is honest for small samples and rates near 0 or 1.
    /// </summary>
    public static (double Low, double High) Wilson(double rate, int n, double z = Z95)
    {
        if (n <= 0) return (0, 1);
        double z2 = z * z, denominator = 1 + z2 / n;
        double center = (rate + z2 / (2 * n)) / denominator;
        double half = z * Math.Sqrt(Math.Max(0, rate * (1 - rate) / n + z2 / (4.0 * n * n))) / denominator;
        return (Math.Max(0, center - half), Math.Min(1, center + half));
    }

    /// <summary>
    /// A normal-approximation 95% interval of the unweighted mean of several independent rates
    /// (RewardBench's overall score: the mean of its section accuracies), clipped to [0, 1].
    /// </summary>
    public static (double Low, double High) MeanOfRates(IReadOnlyList<(double Rate, int N)> parts, double z = Z95)
    {
        if (parts.Count == 0 || parts.Any(p => p.N <= 0)) return (0, 1);
        double mean = parts.Average(p => p.Rate);
        double variance = parts.Sum(p => p.Rate * (1 - p.Rate) / p.N) / (parts.Count * parts.Count);
        double half = z * Math.Sqrt(variance);
        return (Math.Max(0, mean - half), Math.Min(1, mean + half));
    }
}
