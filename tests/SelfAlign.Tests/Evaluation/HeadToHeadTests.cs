using SelfAlign.Evaluation;
using SelfAlign.Judging;
using Xunit;

namespace SelfAlign.Tests.Evaluation;

/// <summary>Head-to-head verdicts and counts, against values worked out by hand.</summary>
public sealed class HeadToHeadTests
{
    [Theory]
    [InlineData(0.9, 0.6, Verdict.Win)]
    [InlineData(0.2, 0.4, Verdict.Loss)]
    [InlineData(0.9, 0.3, Verdict.Tie)] // the orders disagree: position bias, not preference
    [InlineData(0.5, 0.9, Verdict.Tie)] // exactly one half prefers neither
    public void A_win_or_loss_needs_both_orders(double asA, double asB, Verdict expected) =>
        Assert.Equal(expected, HeadToHead.VerdictOf(new PairwiseScore(asA, asB, 1, 1)));

    [Fact]
    public void Counts_shares_win_rate_and_lengths()
    {
        var h = HeadToHead.Of([(Verdict.Win, 0.9, 10, 20), (Verdict.Win, 0.7, 30, 20), (Verdict.Tie, 0.5, 20, 20), (Verdict.Loss, 0.1, 40, 60)]);
        Assert.Equal((2, 1, 1, 4), (h.Wins, h.Ties, h.Losses, h.Count));
        Assert.Equal(0.625, h.WinRate, 12);
        Assert.Equal((25.0, 30.0), (h.MeanLengthA, h.MeanLengthB));
        Assert.Equal(0.55, h.MeanPreference, 12);
        // Scores 1, 1, 0.5, 0 about their mean 0.625: squared deviations sum to 0.6875, sample variance 0.6875 / 3.
        double half = Proportion.Z95 * Math.Sqrt(0.6875 / 3 / 4);
        Assert.Equal(0.625 - half, h.WinRateInterval.Low, 12);
        Assert.Equal(Math.Min(1, 0.625 + half), h.WinRateInterval.High, 12);
        var (rate, low, high) = h.Share(h.Wins);
        Assert.Equal(0.5, rate);
        Assert.Equal(Proportion.Wilson(0.5, 4), (low, high));
    }

    [Fact]
    public void The_length_controlled_win_rate_matches_scikit_learns_fit()
    {
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(TestModels.Fixtures, "winrate", "lc.json")));
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            double[] p = [.. c.GetProperty("preferences").EnumerateArray().Select(x => x.GetDouble())];
            int[] a = [.. c.GetProperty("lengths_a").EnumerateArray().Select(x => x.GetInt32())], b = [.. c.GetProperty("lengths_b").EnumerateArray().Select(x => x.GetInt32())];
            var (theta, phi, winRate) = LengthControlledWinRate.Fit([.. p.Select((x, i) => (x, a[i], b[i]))]);
            // scikit-learn's L-BFGS stops within about 1e-5 of the optimum that Newton's method reaches.
            Assert.Equal(c.GetProperty("theta").GetDouble(), theta, 4);
            Assert.Equal(c.GetProperty("phi").GetDouble(), phi, 4);
            Assert.Equal(c.GetProperty("win_rate").GetDouble(), winRate, 5);
        }
        // Equal lengths leave only the intercept: the mean preference itself.
        Assert.Equal(0.6, LengthControlledWinRate.Fit([(0.9, 5, 5), (0.3, 5, 5)]).WinRate, 12);
        Assert.Equal(1.0, LengthControlledWinRate.Fit([(1.0, 5, 9), (1.0, 7, 5)]).WinRate);
        // AlpacaEval's warning bounds: from 20%, below 10% or above 40%; from 50%, below 37.5% or above 62.5%.
        Assert.True(LengthControlledWinRate.IsExtremeChange(0.20, 0.09));
        Assert.False(LengthControlledWinRate.IsExtremeChange(0.20, 0.11));
        Assert.True(LengthControlledWinRate.IsExtremeChange(0.50, 0.63));
        Assert.False(LengthControlledWinRate.IsExtremeChange(0.50, 0.62));
    }
}
