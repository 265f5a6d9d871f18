// Firmware version reported in HELLO (major.minor.patch). Bump with every released change.
#ifndef GAITRIG_VERSION_H
#define GAITRIG_VERSION_H

#define GAITRIG_FW_MAJOR 1
#define GAITRIG_FW_MINOR 0
#define GAITRIG_FW_PATCH 0

#endif  // GAITRIG_VERSION_H
