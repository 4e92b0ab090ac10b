package impair_test

import (
	"fmt"
	"time"

	"github.com/netlab/netlab/transport/impair"
)

func ExampleParseBurst() {
	b, err := impair.ParseBurst("p=1%,r=25%")
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s: mean burst %.0f packets, loss %.1f%%\n", b, b.MeanBurst(), 100*b.LossRate())
	// Output: p=1%,r=25%: mean burst 4 packets, loss 3.8%
}

func ExampleParseLoss() {
	for _, s := range []string{"5%", "0.05", "150%"} {
		l, err := impair.ParseLoss(s)
		fmt.Println(l, err)
	}
	// Output:
	// 5% <nil>
	// 5% <nil>
	// 0% impair: --loss 150%: a probability must be between 0% and 100%
}

func ExampleConfig_String() {
	c := impair.Config{Loss: 0.02, Delay: impair.Delay(30 * time.Millisecond), Cut: impair.Cut{At: 2 * time.Second, For: time.Second}, Seed: 7}
	fmt.Println(c)
	// Output: --loss 2% --delay 30ms --cut 2s+1s --seed 7
}
