package rasd.esanalysis;

import org.elasticsearch.plugin.settings.AnalysisSettings;
import org.elasticsearch.plugin.settings.StringSetting;

/** Settings of the {@code stemmer} filter. */
@AnalysisSettings
public interface StemmerSettings {
    @StringSetting(path = "language", defaultValue = "porter")
    String language();
}
