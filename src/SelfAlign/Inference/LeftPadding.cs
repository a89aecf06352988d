using TorchSharp;
using static TorchSharp.torch;

namespace SelfAlign.Inference;

/// <summary>Packs rows of different lengths into one left-padded batch, so every row's last token is in the last column.</summary>
internal static class LeftPadding
{
    /// <summary>Ids [rows, longest] (padding id 0) and the mask of real tokens, or null when no row is padded.</summary>
    public static (Tensor Ids, Tensor? Mask) Pack(IReadOnlyList<IReadOnlyList<int>> rows)
    {
        int longest = rows.Max(r => r.Count);
        var ids = new long[rows.Count * longest];
        var mask = new long[rows.Count * longest];
        bool padded = false;
        for (int r = 0; r < rows.Count; r++)
        {
            int pad = longest - rows[r].Count;
            padded |= pad > 0;
            for (int j = 0; j < rows[r].Count; j++)
            {
                ids[r * longest + pad + j] = rows[r][j];
                mask[r * longest + pad + j] = 1;
            }
        }
        return (torch.tensor(ids, [rows.Count, longest]), padded ? torch.tensor(mask, [rows.Count, longest]) : null);
    }
}
