"""HL7 v2 ORU^R01 messages in the shapes real monitors send, for the hl7in tests.

Each shape is adapted from a public example: structure, version, code spellings, units and
identity fields are kept; names, record numbers and device serials are replaced with synthetic
ones. Messages are written as the device meant them (str); `wire` turns one into what the
gateway hands the parser (its bytes in the device's charset, decoded as latin-1).
"""

from collections.abc import Sequence

CR = "\r"

# Every sample carries patient segments: the parser must drop them unread.
SYNTHETIC_NAME = "Testperson^Synthia"


def _message(*segments: str) -> str:
    return CR.join(segments) + CR


def wire(message: str, charset: str = "utf-8") -> str:
    """The text the gateway passes to `parse_oru`: bytes in `charset`, decoded as latin-1."""
    return message.encode(charset).decode("latin-1")


# Mindray VS-900 vital signs monitor, IHE PCD-01, HL7 2.6, UNICODE UTF-8. The EUI-64 is in MSH-3
# (universal id), OBR-2/3 and OBX-18 of the first row; OBX-4 sub-ids end in the metric code; the
# cuff rows carry ^APERIODIC in OBX-17. Source: a HAPI parsing example in a public repository
# (ExampleParseMessages.java) and a node.js MSH test, both quoting a VS-900 message.
MINDRAY_VS900_PCD01_V26 = _message(
    r"MSH|^~\&|MINDRAY_VS900^00A0370098FF0001^EUI-64||||20191206113452||ORU^R01^ORU_R01|1914|P"
    r"|2.6|||AL|NE||UNICODE UTF-8|||IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO",
    r"PID|||^^^Hospital^PI||" + SYNTHETIC_NAME + r"^^^^L",
    r"PV1||I||||||||||||||||||||||||||||||||||||||||||20191201",
    r"OBR|1|1914^MINDRAY_VS900^00A0370098FF0001^EUI-64|1914^MINDRAY_VS900^00A0370098FF0001^EUI-64"
    r"|182777000^monitoring of patient^SCT|||20191206113452",
    r"OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.3.1.150456|99|262688^MDC_DIM_PERCENT^MDC|||||R"
    r"|||20191206113452||||00A0370098FF0001^^00A0370098FF0001^EUI-64",
    r"OBX|2|NM|149530^MDC_PULS_OXIM_PULS_RATE^MDC|1.3.1.149530|94|264864^MDC_DIM_BEAT_PER_MIN^MDC"
    r"|||||R|||20191206113452",
    r"OBX|3|NM|150488^MDC_BLD_PERF_INDEX^MDC|1.3.1.150488|0.94|262688^MDC_DIM_PERCENT^MDC|||||R"
    r"|||20191206113452",
    r"OBX|4|NM|150301^MDC_PRESS_CUFF_SYS^MDC|1.1.9.150301|147|266016^MDC_DIM_MMHG^MDC|||||R"
    r"|||20191206111016|||^APERIODIC",
    r"OBX|5|NM|150303^MDC_PRESS_CUFF_MEAN^MDC|1.1.9.150303|109|266016^MDC_DIM_MMHG^MDC|||||R"
    r"|||20191206111016|||^APERIODIC",
    r"OBX|6|NM|150302^MDC_PRESS_CUFF_DIA^MDC|1.1.9.150302|90|266016^MDC_DIM_MMHG^MDC|||||R"
    r"|||20191206111016|||^APERIODIC",
)

# The NIST/IHE PCD-01 test message: LOINC first with the MDC code as the alternate identifier in
# one CWE, UCUM units as plain text, OBX-18 with all four EI components, MSH-18 ASCII, NTE rows.
# Source: PCD_01MessageToXMLConverterTest.java (a public HAPI-based converter) quoting the NIST
# PCD-01 example. The SpO2 row is added in the same spelling (LOINC 59408-5 + MDC 150456).
NIST_PCD01_LOINC_MDC_V26 = _message(
    r"MSH|^~\&|SendingApplication|SendingFacility|ReceivingApplication|ReceivingFacility"
    r"|20120530112345||ORU^R01^ORU_R01|9879790003|P|2.6|||NE|AL|USA|ASCII|EN^English^ISO639"
    r"||IHE_PCD_ORU_R01^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO",
    r"PID|||SYN2009001^^^NIST^PI||" + SYNTHETIC_NAME + r"^^^^L|Synthetic^^^^^^L|19610101|M"
    r"|||1 Test Street^^Tucson^AZ^85701",
    r"PV1||I|ICU^2^23",
    r"OBR|1|||44616-1^Pulse oximetry panel ^LN|||20120512031234||||||||||||||||||F|||||||||||||||"
    r"||||252465000^Pulse oximetry^SCT|7087005^Intermittent^SCT",
    r"NTE|1||This comment refers to all the results in the battery",
    r"OBX|1|NM|8889-8^Heart Rate by Oximetry^LN^149530^MDC_PULS_OXIM_PULS_RATE^MDC|1.11.2.3|55"
    r"|{beats}/min^beats per minute^UCUM|35-125||99||R|||20120530112340|||AMEAS^auto-measurement"
    r"^MDC|0123456789ABCDEF^Pulse_Oximeter_Vendor_X^0123456789ABCDEF^EUI-64||49521004^left ear"
    r" structure^SCT",
    r"NTE|1||This is a comment about pulse",
    r"OBX|2|NM|59408-5^Oxygen saturation in Arterial blood by Pulse oximetry^LN^150456"
    r"^MDC_PULS_OXIM_SAT_O2^MDC|1.11.2.1|96|%^percent^UCUM|90-100||99||R|||20120530112340"
    r"|||AMEAS^auto-measurement^MDC|0123456789ABCDEF^Pulse_Oximeter_Vendor_X^0123456789ABCDEF^EUI-64",
)

# GE CARESCAPE style gateway: device hierarchy rows (MDS, VMD, CHAN with 1.0.0.0-style sub-ids,
# no value type, status X) before the metrics; a bare EUI-64 with a model name in OBX-18
# (<eui>^B1X5_GE); the simulator numbers pulse rate 150457 but spells the reference id right.
# UNICODE UTF-8, with an accented facility name in MSH-4 to exercise UTF-8.
# Source: a public Go HL7 simulator's GE sample (GetVitalSignsMessage), itself after IHE PCD-01.
GE_CARESCAPE_HIERARCHY_V26 = _message(
    "MSH|^~\\&|VSP^080019FFFE13ABCD^EUI-64|Réa Nord|||20240611093000+0200||ORU^R01^ORU_R01"
    "|080019FFFE13ABCD20240611093000|P|2.6|||NE|AL||UNICODE UTF-8|||PCD_DEC_001^IHE PCD"
    "^1.3.6.1.4.1.19376.1.6.1.1.1^ISO",
    r"PID|||SYN12^^^PID^MR||" + SYNTHETIC_NAME + r"^^^^L|||",
    r"PV1||E|ICU^^79874",
    r"OBR|1|080019FFFE13ABCD20240611093000^VSP^080019FFFE13ABCD^EUI-64"
    r"|080019FFFE13ABCD20240611093000^VSP^080019FFFE13ABCD^EUI-64"
    r"|182777000^monitoring of patient^SCT|||20240611093000+0200",
    r"OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X",
    r"OBX|2||69798^MDC_DEV_PULS_OXIM_VMD^MDC|1.6.0.0|||||||X",
    r"OBX|3||69799^MDC_DEV_PULS_OXIM_CHAN^MDC|1.6.1.0|||||||X",
    r"OBX|4|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.6.1.1|98|262688^MDC_DIM_PERCENT^MDC|||||R||||||"
    r"|080019FFFE13ABCD^B1X5_GE",
    r"OBX|5|NM|150457^MDC_PULS_OXIM_PULS_RATE^MDC|1.6.1.2|76|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R"
    r"|||||||080019FFFE13ABCD^B1X5_GE",
    r"OBX|6|NM|150458^MDC_PULS_OXIM_PERF_INDEX^MDC|1.6.1.3|2.1|262688^MDC_DIM_PERCENT^MDC|||||R"
    r"|||||||080019FFFE13ABCD^B1X5_GE",
)

# Mindray XH80X patient monitor, HL7 2.4, UNICODE UTF-8: EUI-64 in MSH-3 and OBR-2/3, OBX-11
# left empty, OBX-1 numbered by parameter rather than in order, -999 for "no sensor". Source: a
# public Go test's "golden ORU^R01 from hl7_demo_data.doc" (Mindray's HL7 demo data), which is
# all sentinels: that is XH80X_NO_SENSORS_V24. XH80X_V24 fills in readings, including a
# respiration of 0 from the impedance channel, in the same shape.
XH80X_NO_SENSORS_V24 = _message(
    r"MSH|^~\&|XH80X^00A037009BFF0002^EUI-64||||20210611102047||ORU^R01^ORU_R01|41|P|2.4|||AL|NE"
    r"||UNICODE UTF-8",
    r"PID|||^^^^PI||^^^^^^L|||||",
    r"PV1||I|^^^",
    r"OBR|1|41^XH80X^00A037009BFF0002^EUI-64|41^XH80X^00A037009BFF0002^EUI-64"
    r"|182777000^monitoring of patient^SCT|||20210611102047",
    r"OBX|1|NM|150301^MDC_PRESS_CUFF_SYS^MDC|1.1.9.150301|-999|266016^MDC_DIM_MMHG^MDC||||||||"
    r"20210611102047",
    r"OBX|5|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.3.1.150456|-999|262688^MDC_DIM_PERCENT^MDC||||||||"
    r"20210611102047",
    r"OBX|9|NM|147842^MDC_ECG_HEART_RATE^MDC|1.7.4.147842|-999|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||"
    r"|||20210611102047",
    r"OBX|7|NM|150344^MDC_TEMP^MDC|1.13.1.150344|-99.9|268192^MDC_DIM_DEGC^MDC||||||||20210611102047",
)
XH80X_V24 = _message(
    r"MSH|^~\&|XH80X^00A037009BFF0002^EUI-64||||20210611102047||ORU^R01^ORU_R01|42|P|2.4|||AL|NE"
    r"||UNICODE UTF-8",
    r"PID|||^^^^PI||" + SYNTHETIC_NAME + r"^^^^L|||||",
    r"PV1||I|^^^",
    r"OBR|1|42^XH80X^00A037009BFF0002^EUI-64|42^XH80X^00A037009BFF0002^EUI-64"
    r"|182777000^monitoring of patient^SCT|||20210611102047",
    r"OBX|1|NM|150301^MDC_PRESS_CUFF_SYS^MDC|1.1.9.150301|-999|266016^MDC_DIM_MMHG^MDC||||||||"
    r"20210611102047",
    r"OBX|5|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.3.1.150456|91|262688^MDC_DIM_PERCENT^MDC||||||||"
    r"20210611102047",
    r"OBX|9|NM|147842^MDC_ECG_HEART_RATE^MDC|1.7.4.147842|58|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||"
    r"|||20210611102047",
    r"OBX|10|NM|151562^MDC_RESP_RATE^MDC|1.7.1.151562|0|264928^MDC_DIM_RESP_PER_MIN^MDC||||||||"
    r"20210611102047",
    r"OBX|7|NM|150344^MDC_TEMP^MDC|1.13.1.150344|36.2|268192^MDC_DIM_DEGC^MDC||||||||20210611102047",
)

# Mindray D-series monitor: the EUI-64 in MSH-3 and in OBR-3's universal id (OBR-2 empty);
# OBX-18 is a DNS-style id, not an EUI-64, so it is no candidate; timestamps carry milliseconds
# without a dot; respiration from the transthoracic impedance channel; a waveform row (value
# type NA). Sources: a public HL7 log viewer's mock data (D-series MSH and OBR-3; its MSH has one
# "|" too many after MSH-2, removed here) and a public C# monitor reader's comments quoting
# Mindray OBR-4 and OBX rows.
MINDRAY_DSERIES_OBR3_V26 = _message(
    r"MSH|^~\&|MINDRAY_D-SERIES^00A037009AFF0003^EUI-64||||20190929092150000||ORU^R01^ORU_R01|374"
    r"|P|2.6|||AL|NE||UNICODE UTF-8|||IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO",
    r"PID|||^^^Hospital^PI||^^^^^^L",
    r"PV1||I",
    r"OBR|1||374^MINDRAY_D-SERIES^00A037009AFF0003^EUI-64"
    r"|69952^MDC_DEV_MON_PT_PHYSIO_MULTI_PARAM^MDC|||20190929092149610|20190929092150610",
    r"OBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC|1.7.4.147842|72|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R"
    r"|||20190929092149610||||F037EF2X^SHENZHEN_DEVICE^mindray.com^DNS",
    r"OBX|2|NM|151578^MDC_TTHOR_RESP_RATE^MDC|1.7.1.151578|16|264928^MDC_DIM_RESP_PER_MIN^MDC|||||R"
    r"|||20190929092149610",
    r"OBX|3|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.3.1.150456|97|262688^MDC_DIM_PERCENT^MDC|||||R"
    r"|||20190929092149610",
    r"OBX|4|NM|149530^MDC_PULS_OXIM_PULS_RATE^MDC|1.3.1.149530|71|264864^MDC_DIM_BEAT_PER_MIN^MDC"
    r"|||||R|||20190929092149610",
    r"OBX|5|NA|151780^MDC_IMPED_TTHOR^MDC|1.7.1.151780|0^0^0^0^0^0^0^0|||||R|||20190929092149610",
)

# Mindray eGateway in front of a bedside monitor: MSH-3 and OBR-2/3 name the gateway's EUI-64,
# OBX-18 of the first row the monitor's own, so the monitor comes first among the candidates.
# Fractional seconds and a +0530 offset; respiration both from the pleth (151658) and from the
# impedance channel (151578); vendor-coded 99MNDRY rows. Source: a public web app's dummy ORU
# for an eGateway feed (DUMMY_ORU).
MINDRAY_EGATEWAY_V26 = _message(
    r"MSH|^~\&|MINDRAY_EGATEWAY^00A03700FF3EDE18^EUI-64|MINDRAY|||20260912120000.0000+0530"
    r"||ORU^R01^ORU_R01|23545|P|2.6|||AL|NE||UNICODE UTF-8|||IHE_PCD_001^IHE PCD"
    r"^1.3.6.1.4.1.19376.1.6.1.1.1^ISO",
    r"PID|||^^^Hospital^PI|" + SYNTHETIC_NAME + r"|||||unknownrace",
    r"PV1||I|ICU^^5^SYNTHETIC HOSPITAL^^^^^00-0F-14-50-72-99",
    r"OBR|1|23545^MINDRAY_EGATEWAY^00A03700FF3EDE18^EUI-64|23545^MINDRAY_EGATEWAY^00A03700FF3EDE18"
    r"^EUI-64|182777000^monitoring of patient^SCT|||20260912120000.0000+0530",
    r"OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.3.1.150456|98|262688^MDC_DIM_PERCENT^MDC|||||R"
    r"|||20260912120000.0000+0530||||000F14FF9B507238^BIG_DIPPER^000F14FF9B507238^EUI-64",
    r"OBX|2|NM|149530^MDC_PULS_OXIM_PULS_RATE^MDC|1.3.1.149530|65|264864^MDC_DIM_BEAT_PER_MIN^MDC"
    r"|||||R|||20260912120000.0000+0530",
    r"OBX|3|NM|150488^MDC_BLD_PERF_INDEX^MDC|1.3.1.150488|1.76|262688^MDC_DIM_PERCENT^MDC|||||R"
    r"|||20260912120000.0000+0530",
    r"OBX|4|NM|151658^MDC_PULS_OXIM_PLETH_RESP_RATE^MDC|1.3.1.151658|19"
    r"|264928^MDC_DIM_RESP_PER_MIN^MDC|||||R|||20260912120000.0000+0530",
    r"OBX|5|NM|151578^MDC_TTHOR_RESP_RATE^MDC|1.7.1.151578|17|264928^MDC_DIM_RESP_PER_MIN^MDC"
    r"|||||R|||20260912120000.0000+0530",
    r"OBX|6|NM|148066^MDC_ECG_V_P_C_RATE^MDC|1.7.2.148066|1|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R"
    r"|||20260912120000.0000+0530",
    r"OBX|7|NM|108^MNDRY_ECG_PAUSE_RATE^99MNDRY|1.7.2.108|0|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R"
    r"|||20260912120000.0000+0530",
)

# Comen NC-series monitor: identity only in MSH-3 (the model; the serial is in MSH-4), OBX-1
# left empty, offsets on every time, two SpO2 channels, pulse coded 149522 but named
# MDC_PULS_RATE, a vendor-coded CNE row. Source: a public PHP test sender for a Comen
# monitor (NC_Monitor, 99COMEN codes).
COMEN_NC_MONITOR_V26 = _message(
    r"MSH|^~\&|NC_Monitor|KC000000001G|||20250610015127+0800||ORU^R01^ORU_R01|202506100151270003|P"
    r"|2.6||||||UNICODE UTF-8",
    r"PID|||10006||" + SYNTHETIC_NAME + r"|||M||Unknown",
    r"PV1||I|^^&10|R",
    r"OBR||||1^MON_PARAM^99COMEN|||20250610015127+0800",
    r"OBX||NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.3.1.150456|97|262688^MDC_DIM_PERCENT^MDC|||||F"
    r"|||20250610015127+0800",
    r"OBX||NM|160324^MDC_SPO2_SIGNAL_QUALITY_INDEX^MDC|1.3.1.160324|3.56|262688^MDC_DIM_PERCENT^MDC"
    r"|||||F|||20250610015127+0800",
    r"OBX||NM|149522^MDC_PULS_RATE^MDC|1.0.0.149522|59|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||F"
    r"|||20250610015127+0800",
    r"OBX||NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.3.2.150456|95|262688^MDC_DIM_PERCENT^MDC|||||F"
    r"|||20250610015127+0800",
    r"OBX||NM|150468^MDC_PULS_OXIM_SAT_O2_DIFF^MDC|1.3.2.150468|2|262688^MDC_DIM_PERCENT^MDC|||||F"
    r"|||20250610015127+0800",
    r"OBX||NM|151562^MDC_RESP_RATE^MDC|1.14.1.151562|20|264928^MDC_DIM_RESP_PER_MIN^MDC|||||F"
    r"|||20250610015127+0800",
    r"OBX||NM|150344^MDC_TEMP^MDC|1.2.1.150344|37.0|268192^MDC_DIM_DEGC^MDC|||||F"
    r"|||20250610015127+0800",
    r"OBX||CNE|2453^COMEN_POS_BODY^99COMEN|1.1.9.2453|2821^COMEN_POS_SITTING^99COMEN||||||F"
    r"|||20250610015127+0800",
)

# Mindray VS8 spot check, HL7 2.3.1: plain-text units (bpm, %, mmHg, Cel), no MSH-18, no OBX-4,
# MSH-3 "Mindray" as the only identity. Source: a public Python script that pushes a VS8 vitals
# message to a SmartWard gateway.
MINDRAY_VS8_SPOTCHECK_V231 = _message(
    r"MSH|^~\&|Mindray|VS8|VS8_GATEWAY|SMARTWARD|20260727124424||ORU^R01|MSG00042|P|2.3.1",
    r"PID|||SYN-0007||" + SYNTHETIC_NAME + r"||19800115|M",
    r"PV1||I|^^ICU&01&0&0&0",
    r"OBR|1||||||20260727124424",
    r"OBX|1|NM|150017^MDC_PRESS_BLD_NONINV_SYS^MDC||118|mmHg|||||F|||20260727124424",
    r"OBX|2|NM|150018^MDC_PRESS_BLD_NONINV_DIA^MDC||74|mmHg|||||F|||20260727124424",
    r"OBX|3|NM|149530^MDC_PULS_OXIM_PULS_RATE^MDC||72|bpm|||||F|||20260727124424",
    r"OBX|4|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC||97|%|||||F|||20260727124424",
    r"OBX|5|NM|150344^MDC_TEMP^MDC||36.7|Cel|||||F|||20260727124424",
)

# A Continua personal-health-device oximeter behind an IHE PCD gateway: the device
# specialisation row (528388, value type empty, status X) carries the short "<eui>^EUI-64" in
# OBX-18; pulse as 149546 MDC_PULS_RATE_NON_INV; a CWE time-sync row. HL7 2.5 as in the IHE PCD
# 2006 trial profile that MSH-21 names; MSH-18 8859/1 with an accented facility in MSH-4.
# Sources: a HAPI validator test (the "AcmeInc" PCD-01 message) and a public Spanish PHD gateway
# test (getPulsioximeterOBX).
CONTINUA_OXIMETER_V25_LATIN1 = _message(
    "MSH|^~\\&|AcmeInc^ACDE48234567ABCD^EUI-64|Clínica Norte|||20120824183021+0000||ORU^R01^ORU_R01"
    "|MSGID1234|P|2.5|||NE|AL||8859/1|||IHE PCD ORU-R01 2006^HL7^2.16.840.1.113883.9.n.m^HL7",
    r"PID|||1^^^Imaginary Hospital^PI||" + SYNTHETIC_NAME + r"^^^^L^A|||M",
    r"OBR|1|AB12345^AcmeAHDInc^ACDE48234567ABCD^EUI-64|CD12345^AcmeAHDInc^ACDE48234567ABCD^EUI-64"
    r"|182777000^monitoring of patient^SNOMED-CT|||20120824183021+0000",
    r"OBX|1|CWE|68220^MDC_TIME_SYNC_PROTOCOL^MDC|0.0.0.1|532224^MDC_TIME_SYNC_NONE^MDC|||||R",
    r"OBX|2||528388^MDC_DEV_SPEC_PROFILE_PULS_OXIM^MDC|1|||||||X|||20120824183021+0000||||"
    r"ACDE48234567ABCD^EUI-64",
    r"OBX|3|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.0.0.1|96|262688^MDC_DIM_PERCENT^MDC|||||R"
    r"|||20120824183021+0000",
    r"OBX|4|NM|149546^MDC_PULS_RATE_NON_INV^MDC|1.0.0.2|68|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R"
    r"|||20120824183021+0000",
)

# A spot-check monitor with no probe attached: SpO2 and pulse rate -100. MSH-4 has a trailing
# component separator. Source: comments in a public Flutter app that reads a "northern" patient
# monitor. BARE_MDC_CODES_V26 is the same message with readings and with OBX-3/OBX-6 reduced to
# the bare numeric codes, as some gateways send them (adapted: no public sample at hand).
NORTHERN_NO_PROBE_V26 = _message(
    r"MSH|^~\&|northern|patient monitor^|||20250612090838||ORU^R01^ORU_R01|1362|P|2.6|",
    r"PID|||0001||" + SYNTHETIC_NAME + r"||00000000|M|",
    r"PV1||I|^^",
    r"OBR|1||||||20250612090838|",
    r"OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.3.1.150456|-100|262688^MDC_DIM_PERCENT^MDC|||||F||||",
    r"OBX|2|NM|149530^MDC_PULS_OXIM_PULS_RATE^MDC|1.3.1.149530|-100|264864^MDC_DIM_BEAT_PER_MIN^MDC"
    r"|||||F||||",
    r"OBX|3|NM|150344^MDC_TEMP^MDC|1.2.1.150344|38.5|268192^MDC_DIM_DEGC^MDC|||||F||||",
)
BARE_MDC_CODES_V26 = _message(
    r"MSH|^~\&|northern|patient monitor^|||20250612090838||ORU^R01^ORU_R01|1363|P|2.6|",
    r"PID|||0001||" + SYNTHETIC_NAME + r"||00000000|M|",
    r"OBR|1||||||20250612090838|",
    r"OBX|1|NM|150456|1.3.1.150456|93|262688|||||F||||",
    r"OBX|2|NM|149530|1.3.1.149530|104|264864|||||F||||",
    r"OBX|3|NM|151562|1.5.1.151562|11|264928|||||F||||",
)

REAL_SHAPES = {
    "MINDRAY_VS900_PCD01_V26": MINDRAY_VS900_PCD01_V26,
    "NIST_PCD01_LOINC_MDC_V26": NIST_PCD01_LOINC_MDC_V26,
    "GE_CARESCAPE_HIERARCHY_V26": GE_CARESCAPE_HIERARCHY_V26,
    "XH80X_V24": XH80X_V24,
    "MINDRAY_DSERIES_OBR3_V26": MINDRAY_DSERIES_OBR3_V26,
    "MINDRAY_EGATEWAY_V26": MINDRAY_EGATEWAY_V26,
    "COMEN_NC_MONITOR_V26": COMEN_NC_MONITOR_V26,
    "MINDRAY_VS8_SPOTCHECK_V231": MINDRAY_VS8_SPOTCHECK_V231,
    "CONTINUA_OXIMETER_V25_LATIN1": CONTINUA_OXIMETER_V25_LATIN1,
    "BARE_MDC_CODES_V26": BARE_MDC_CODES_V26,
}
CHARSETS = {"CONTINUA_OXIMETER_V25_LATIN1": "latin-1"}


def received(name: str) -> str:
    """A real shape as the gateway hands it over."""
    return wire(REAL_SHAPES[name], CHARSETS.get(name, "utf-8"))


# A typical bedside message for speed measurements: the VS-900 shape, six OBX rows.
TYPICAL_SIX_OBX = MINDRAY_VS900_PCD01_V26


def obx(
    code: str,
    value: str,
    unit: str = "",
    *,
    set_id: str = "1",
    value_type: str = "NM",
    sub_id: str = "",
    flags: str = "",
    status: str = "R",
    time: str = "",
    equipment: str = "",
) -> str:
    """One OBX row; fields after OBX-18 are left out."""
    fields = ["OBX", set_id, value_type, code, sub_id, value, unit, "", flags, "", "", status]
    fields += ["", "", time, "", "", "", equipment]
    return "|".join(fields).rstrip("|")


def oru(
    rows: Sequence[str],
    *,
    version: str = "2.6",
    application: str = "VIGIL_SIM^0009FBFFFF9B42B3^EUI-64",
    facility: str = "BOOTHS",
    control_id: str = "MSG0001",
    charset: str = "UNICODE UTF-8",
    message_type: str = "ORU^R01^ORU_R01",
    stamp: str = "20250301120000+0000",
    obr3: str = "",
    obr7: str = "",
    patient: str = "PID|||SYN-0001^^^Vigil^PI||" + SYNTHETIC_NAME,
) -> str:
    """A PCD-01 shaped message around `rows`, for tests that vary one thing at a time."""
    msh = (
        f"MSH|^~\\&|{application}|{facility}|VIGIL|SITE|{stamp}||{message_type}|{control_id}|P"
        f"|{version}|||AL|NE||{charset}"
    )
    obr = f"OBR|1||{obr3}|182777000^monitoring of patient^SCT|||{obr7}"
    return _message(msh, patient, "PV1||I|BOOTH^^3", obr, *rows)


SPO2_CODE = "150456^MDC_PULS_OXIM_SAT_O2^MDC"
PULSE_CODE = "149530^MDC_PULS_OXIM_PULS_RATE^MDC"
HEART_RATE_CODE = "147842^MDC_ECG_HEART_RATE^MDC"
RESP_CODE = "151562^MDC_RESP_RATE^MDC"
APNEA_CODE = "199680^MDC_EVT_APNEA^MDC"
PERCENT = "262688^MDC_DIM_PERCENT^MDC"
BEATS = "264864^MDC_DIM_BEAT_PER_MIN^MDC"
BREATHS = "264928^MDC_DIM_RESP_PER_MIN^MDC"
