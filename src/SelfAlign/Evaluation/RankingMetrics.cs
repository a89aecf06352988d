namespace SelfAlign.Evaluation;

/// <summary>One instruction's responses as humans ranked them and as a judge scored them.</summary>
/// <param name="Id">The instruction's id.</param>
/// <param name="HumanRank">Each response's human rank, lower is better (0: best); equal ranks tie.</param>
/// <param name="JudgeScore">Each response's judge score, higher is better; null where the judge gave none.</param>
public sealed record RankedResponses(string Id, IReadOnlyList<double> HumanRank, IReadOnlyList<double?> JudgeScore);

/// <summary>
/// How far a judge agrees with human rankings: the measures of the Self-Rewarding paper's Table 4.
/// </summary>
/// <param name="Instructions">Instructions with at least two responses.</param>
/// <param name="Pairs">Response pairs the humans ranked apart.</param>
/// <param name="PairwiseAccuracy">Share of those pairs the judge orders as the humans do (a judge tie or a missing score does not agree).</param>
/// <param name="JudgeTies">Of those pairs, how many the judge scored equal or left unscored.</param>
/// <param name="ExactMatch">Share of instructions whose whole ordering, ties included, the judge reproduces.</param>
/// <param name="FiveBest">Of the responses the judge gave the perfect score, the share the humans ranked best; null without a perfect score or such responses.</param>
/// <param name="PerfectScored">Responses the judge gave the perfect score.</param>
/// <param name="Spearman">Spearman's ρ between judge scores and human preference, averaged over the instructions where both vary; null where none does.</param>
/// <param name="Kendall">Kendall's τ-b, likewise.</param>
/// <param name="Correlated">Instructions the two correlations average over.</param>
public sealed record RankingAgreement(int Instructions, int Pairs, double PairwiseAccuracy, int JudgeTies, double ExactMatch,
    double? FiveBest, int PerfectScored, double? Spearman, double? Kendall, int Correlated);

/// <summary>Agreement of judge scores with human rankings (pairwise accuracy, exact match, 5-best, Spearman, Kendall τ-b).</summary>
public static class RankingMetrics
{
    /// <summary>The agreement over <paramref name="items"/>; <paramref name="perfectScore"/> (the additive judge's 5) enables 5-best.</summary>
    public static RankingAgreement Compute(IReadOnlyList<RankedResponses> items, double? perfectScore = null)
    {
        int instructions = 0, pairs = 0, agree = 0, ties = 0, exact = 0, perfect = 0, perfectBest = 0;
        var rhos = new List<double>();
        var taus = new List<double>();
        foreach (var item in items)
        {
            int n = item.HumanRank.Count;
            if (item.JudgeScore.Count != n) throw new ArgumentException($"{item.Id}: {n} human ranks but {item.JudgeScore.Count} judge scores");
            if (n < 2) continue;
            instructions++;
            bool same = true;
            for (int i = 0; i < n; i++)
                for (int j = i + 1; j < n; j++)
                {
                    // Human preference of i over j (+1, 0, -1) against the judge's.
                    int human = Math.Sign(item.HumanRank[j] - item.HumanRank[i]);
                    int judge = item.JudgeScore[i] is double a && item.JudgeScore[j] is double b ? Math.Sign(a - b) : int.MinValue;
                    if (judge != human) same = false;
                    if (human == 0) continue;
                    pairs++;
                    if (judge == human) agree++;
                    else if (judge is 0 or int.MinValue) ties++;
                }
            if (same) exact++;
            if (perfectScore is double top)
            {
                double best = item.HumanRank.Min();
                for (int i = 0; i < n; i++)
                    if (item.JudgeScore[i] == top)
                    {
                        perfect++;
                        if (item.HumanRank[i] == best) perfectBest++;
                    }
            }
            if (item.JudgeScore.All(s => s is not null))
            {
                var judge = item.JudgeScore.Select(s => s!.Value).ToArray();
                var preference = item.HumanRank.Select(r => -r).ToArray();
                if (Varies(judge) && Varies(preference))
                {
                    rhos.Add(Spearman(judge, preference));
                    taus.Add(KendallTauB(judge, preference));
                }
            }
        }
        return new RankingAgreement(instructions, pairs, pairs == 0 ? 0 : (double)agree / pairs, ties, instructions == 0 ? 0 : (double)exact / instructions,
            perfect == 0 ? null : (double)perfectBest / perfect, perfect, rhos.Count == 0 ? null : rhos.Average(), taus.Count == 0 ? null : taus.Average(), rhos.Count);
    }

    static bool Varies(double[] xs) => xs.Any(x => x != xs[0]);

    /// <summary>Spearman's ρ: Pearson's correlation of the two samples' ranks, ties given their mean rank.</summary>
    public static double Spearman(IReadOnlyList<double> x, IReadOnlyList<double> y) => Pearson(Ranks(x), Ranks(y));

    /// <summary>Kendall's τ-b: (concordant − discordant) / √((n₀ − tx)(n₀ − ty)), ties in either sample corrected for.</summary>
    public static double KendallTauB(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        long concordant = 0, discordant = 0, tiedX = 0, tiedY = 0;
        for (int i = 0; i < x.Count; i++)
            for (int j = i + 1; j < x.Count; j++)
            {
                int dx = Math.Sign(x[i] - x[j]), dy = Math.Sign(y[i] - y[j]);
                if (dx == 0 && dy == 0) continue;
                if (dx == 0) tiedX++;
                else if (dy == 0) tiedY++;
                else if (dx == dy) concordant++;
                else discordant++;
            }
        return (concordant - discordant) / Math.Sqrt((double)(concordant + discordant + tiedX) * (concordant + discordant + tiedY));
    }

    static double[] Ranks(IReadOnlyList<double> values)
    {
        var order = Enumerable.Range(0, values.Count).OrderBy(i => values[i]).ToArray();
        var ranks = new double[values.Count];
        for (int start = 0; start < order.Length;)
        {
            int end = start;
            while (end + 1 < order.Length && values[order[end + 1]] == values[order[start]]) end++;
            double mean = (start + end) / 2.0 + 1;
            for (int k = start; k <= end; k++) ranks[order[k]] = mean;
            start = end + 1;
        }
        return ranks;
    }

    static double Pearson(double[] x, double[] y)
    {
        double mx = x.Average(), my = y.Average(), sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < x.Length; i++)
        {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }
        return sxy / Math.Sqrt(sxx * syy);
    }
}
