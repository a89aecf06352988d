namespace SelfAlign.Modeling.Gguf;

/// <summary>
/// ggml's Q8_0 quantization: each block of 32 consecutive weights of a row is stored as an fp16
/// scale d = max|x| / 127 and 32 signed bytes round(x / d), rounded half away from zero.
/// </summary>
internal static class Q8Zero
{
    /// <summary>Weights per block.</summary>
    public const int BlockSize = 32;
    /// <summary>Bytes per block: the fp16 scale and the 32 quants.</summary>
    public const int BlockBytes = 2 + BlockSize;

    /// <summary>Quantizes <paramref name="values"/> (a multiple of 32 long) into blocks.</summary>
    public static byte[] Quantize(ReadOnlySpan<float> values)
    {
        if (values.Length % BlockSize != 0) throw new ArgumentException($"Q8_0 needs rows of a multiple of {BlockSize} values, got {values.Length}");
        var blocks = new byte[values.Length / BlockSize * BlockBytes];
        for (int b = 0; b < values.Length / BlockSize; b++)
        {
            var block = values.Slice(b * BlockSize, BlockSize);
            float max = 0;
            foreach (var v in block) max = Math.Max(max, Math.Abs(v));
            float d = max / 127;
            float inverse = d != 0 ? 1 / d : 0;
            var output = blocks.AsSpan(b * BlockBytes, BlockBytes);
            BitConverter.TryWriteBytes(output, BitConverter.HalfToUInt16Bits((Half)d));
            for (int i = 0; i < BlockSize; i++)
                output[2 + i] = (byte)(sbyte)MathF.Round(block[i] * inverse, MidpointRounding.AwayFromZero);
        }
        return blocks;
    }

    /// <summary>The values <paramref name="blocks"/> stand for: d times each quant.</summary>
    public static float[] Dequantize(ReadOnlySpan<byte> blocks)
    {
        var values = new float[blocks.Length / BlockBytes * BlockSize];
        for (int b = 0; b < blocks.Length / BlockBytes; b++)
        {
            var block = blocks.Slice(b * BlockBytes, BlockBytes);
            float d = (float)BitConverter.UInt16BitsToHalf(BitConverter.ToUInt16(block));
            for (int i = 0; i < BlockSize; i++) values[b * BlockSize + i] = d * (sbyte)block[2 + i];
        }
        return values;
    }
}
