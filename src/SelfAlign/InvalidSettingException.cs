namespace SelfAlign;

/// <summary>
/// A setting is out of range. <see cref="Setting"/> is its snake_case name (as in config files;
/// the command line spells it with dashes), so each front end can point at the right key or option.
/// </summary>
/// <param name="setting">The setting's snake_case name, e.g. <c>top_p</c>.</param>
/// <param name="reason">What is wrong, e.g. <c>must be in (0, 1], got 0</c>.</param>
public sealed class InvalidSettingException(string setting, string reason) : ArgumentException($"{setting} {reason}")
{
    /// <summary>The setting's snake_case name.</summary>
    public string Setting { get; } = setting;

    /// <summary>What is wrong with its value.</summary>
    public string Reason { get; } = reason;
}
