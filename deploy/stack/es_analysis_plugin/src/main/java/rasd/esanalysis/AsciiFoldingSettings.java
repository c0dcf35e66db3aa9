package rasd.esanalysis;

import org.elasticsearch.plugin.settings.AnalysisSettings;
import org.elasticsearch.plugin.settings.BooleanSetting;

/** Settings of the {@code asciifolding} filter (the full distribution's one option). */
@AnalysisSettings
public interface AsciiFoldingSettings {
    @BooleanSetting(path = "preserve_original", defaultValue = false)
    boolean preserveOriginal();
}
