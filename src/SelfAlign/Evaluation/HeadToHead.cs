using SelfAlign.Judging;

namespace SelfAlign.Evaluation;

/// <summary>The outcome of one head-to-head comparison, from the first policy's side.</summary>
public enum Verdict
{
    /// <summary>The judge preferred the other policy's response in both orders.</summary>
    Loss = -1,
    /// <summary>The two orders disagree (or a judgment sits exactly at one half).</summary>
    Tie = 0,
    /// <summary>The judge preferred this policy's response in both orders.</summary>
    Win = 1,
}

/// <summary>
/// Win, tie and loss counts of policy A against policy B over a prompt set, each share with its
/// Wilson 95% interval, the win rate with ties counted half (AlpacaEval's convention) with a normal
/// 95% interval, and the mean response lengths, since a judge that likes length favours the longer policy.
/// </summary>
/// <param name="Wins">Prompts where A won in both orders.</param>
/// <param name="Ties">Prompts where the orders disagreed.</param>
/// <param name="Losses">Prompts where B won in both orders.</param>
/// <param name="MeanLengthA">Mean characters of A's responses.</param>
/// <param name="MeanLengthB">Mean characters of B's responses.</param>
/// <param name="MeanPreference">The judge's mean probability that A's answer is better (both orders averaged): AlpacaEval 2's weighted win rate.</param>
/// <param name="LengthControlled">The length-controlled win rate (<see cref="LengthControlledWinRate"/>).</param>
public sealed record HeadToHead(int Wins, int Ties, int Losses, double MeanLengthA, double MeanLengthB, double MeanPreference, double LengthControlled)
{
    /// <summary>Comparisons in all.</summary>
    public int Count => Wins + Ties + Losses;

    /// <summary>Whether <see cref="LengthControlled"/> moved so far from <see cref="MeanPreference"/> that the fit is suspect (AlpacaEval's warning).</summary>
    public bool LengthControlledSuspect => LengthControlledWinRate.IsExtremeChange(MeanPreference, LengthControlled);

    /// <summary>(wins + ties / 2) / count.</summary>
    public double WinRate => Count == 0 ? double.NaN : (Wins + 0.5 * Ties) / Count;

    /// <summary>The normal 95% interval of <see cref="WinRate"/> from the per-prompt scores 1, 0.5 and 0.</summary>
    public (double Low, double High) WinRateInterval
    {
        get
        {
            if (Count < 2) return (0, 1);
            double mean = WinRate;
            double variance = (Wins * Math.Pow(1 - mean, 2) + Ties * Math.Pow(0.5 - mean, 2) + Losses * mean * mean) / (Count - 1);
            double half = Proportion.Z95 * Math.Sqrt(variance / Count);
            return (Math.Max(0, mean - half), Math.Min(1, mean + half));
        }
    }

    /// <summary>The share of <paramref name="count"/> with its Wilson 95% interval.</summary>
    public (double Rate, double Low, double High) Share(int count)
    {
        double rate = Count == 0 ? double.NaN : (double)count / Count;
        var (low, high) = Count == 0 ? (0.0, 1.0) : Proportion.Wilson(rate, Count);
        return (rate, low, high);
    }

    /// <summary>The verdict of a judgment in both orders: a win or loss only when both orders agree.</summary>
    public static Verdict VerdictOf(PairwiseScore score) =>
        score.FirstAsA > 0.5 && score.FirstAsB > 0.5 ? Verdict.Win
        : score.FirstAsA < 0.5 && score.FirstAsB < 0.5 ? Verdict.Loss
        : Verdict.Tie;

    /// <summary>Counts <paramref name="outcomes"/>: each comparison's verdict, the judge's preference for A and the two responses' lengths.</summary>
    public static HeadToHead Of(IReadOnlyList<(Verdict Verdict, double Preference, int LengthA, int LengthB)> outcomes) => new(
        outcomes.Count(o => o.Verdict == Verdict.Win), outcomes.Count(o => o.Verdict == Verdict.Tie), outcomes.Count(o => o.Verdict == Verdict.Loss),
        outcomes.Count == 0 ? double.NaN : outcomes.Average(o => o.LengthA), outcomes.Count == 0 ? double.NaN : outcomes.Average(o => o.LengthB),
        outcomes.Count == 0 ? double.NaN : outcomes.Average(o => o.Preference),
        LengthControlledWinRate.Fit([.. outcomes.Select(o => (o.Preference, o.LengthA, o.LengthB))]).WinRate);
}
